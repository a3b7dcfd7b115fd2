
ë
P061AI+ Smallholder Agriculture Cooperation Programme"µA crop-advisory app gives advice on planting dates, pest alerts and fertiliser use to about two
million smallholders. Extension workers are trained to read the recommendations and can override
them. The advisory models belong to AgriSense and run on its cloud. Farm and location data are
stored with the vendor "in accordance with applicable laws". Technology transfer and local
hosting are "to be discussed in a later phase". Model updates are pushed centrally. Neither
accuracy results nor the contract terms will be published. Farmers have no complaint channel.
*China*Ethiopia2-China-Africa Joint Agricultural Working Group:
ChinaAsia-Pacific :
EthiopiaAfrica :
TanzaniaAfrica :
MalawiAfrica :

MozambiqueAfrica :*
AgriSense Technology Co.Asia-PacificBagricultureBclimate adaptationJ=€´‰"4ministries of agriculture of the four African statesJ%¸"agricultural extension workersJ"regional data centresR(AI+ International Cooperation InitiativeR Global AI Governance Action PlanRGlobal Digital CompactZ
2027-09-30"P06