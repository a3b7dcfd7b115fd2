// A minimal grpc-go server answering grpc.health.v1.Health/Check with SERVING: the ecosystem's
// ceiling for one unary call on this machine, measured beside PolicyWatch by bench/load/run.sh.
// Built offline in GOPATH mode from Debian's golang-go and golang-google-grpc-dev.
package main

import (
	"flag"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	server := grpc.NewServer()
	checker := health.NewServer()
	checker.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(server, checker)
	log.Printf("listening address=%s", lis.Addr().String())
	if err := server.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
