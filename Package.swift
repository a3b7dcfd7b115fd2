// swift-tools-version: 6.1
// PolicyWatch: checks policy proposals against the principles of policy frameworks.

import PackageDescription

let strictSwift: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "PolicyWatch",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "policywatch", targets: ["policywatch"]),
    .library(name: "CEL", targets: ["CEL"]),
    .library(name: "PolicyRules", targets: ["PolicyRules"]),
    .library(name: "PolicyWatchService", targets: ["PolicyWatchService"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
  ],
  targets: [
    // A standalone Common Expression Language engine: standard library and Foundation only.
    .target(name: "CEL", swiftSettings: strictSwift),
    // Generated messages, service stubs and the descriptor set; see scripts/generate-proto.sh.
    .target(
      name: "PolicyWatchAPI",
      dependencies: [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      exclude: ["Generated/proto.sha256"],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // Rule files, the compiled RuleBook and the engine that explains verdicts.
    .target(
      name: "PolicyRules",
      dependencies: [
        "CEL", "PolicyWatchAPI",
        .product(name: "Yams", package: "Yams"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSwift
    ),
    // Debian's libsqlite3, through a module map.
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
    // Durable storage of proposals and verdicts.
    .target(
      name: "PolicyStore",
      dependencies: [
        "PolicyWatchAPI", "CSQLite",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSwift
    ),
    // The gRPC services, interceptors, health, reflection and server assembly.
    .target(
      name: "PolicyWatchService",
      dependencies: [
        "PolicyWatchAPI", "PolicyRules", "PolicyStore",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      swiftSettings: strictSwift
    ),
    .executableTarget(
      name: "policywatch",
      dependencies: [
        "PolicyWatchService", "PolicyRules", "PolicyWatchAPI", "PolicyStore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSwift
    ),
    // Benchmarks (release builds; see docs/BENCHMARKS.md).
    .executableTarget(
      name: "cel-bench", dependencies: ["CEL"], path: "bench/cel-bench", swiftSettings: strictSwift),
    .executableTarget(
      name: "rules-bench", dependencies: ["PolicyRules", "PolicyWatchAPI"],
      path: "bench/rules-bench",
      swiftSettings: strictSwift),
    .testTarget(name: "CELTests", dependencies: ["CEL"], swiftSettings: strictSwift),
    .testTarget(
      name: "PolicyStoreTests", dependencies: ["PolicyStore", "PolicyWatchAPI"],
      swiftSettings: strictSwift),
    .testTarget(
      name: "PolicyRulesTests", dependencies: ["PolicyRules", "PolicyWatchAPI"],
      swiftSettings: strictSwift),
    .testTarget(
      name: "PolicyWatchAPITests",
      dependencies: ["PolicyWatchAPI", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      swiftSettings: strictSwift
    ),
    .testTarget(
      name: "PolicyWatchServiceTests",
      dependencies: [
        "PolicyWatchService", "PolicyWatchAPI",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSwift
    ),
    .testTarget(
      name: "policywatchTests", dependencies: ["policywatch"], swiftSettings: strictSwift),
  ]
)

// libFuzzer targets (fuzz/), only when POLICYWATCH_FUZZ is set: `make fuzz` builds them with
// `--sanitize=fuzzer --sanitize=address` into .build-fuzz and runs each for a bounded time.
if Context.environment["POLICYWATCH_FUZZ"] != nil {
  let fuzzTargets: [(String, [Target.Dependency])] = [
    ("FuzzCEL", ["CEL"]),
    ("FuzzRuleFile", ["PolicyRules"]),
    ("FuzzProposalReader", ["PolicyRules"]),
    ("FuzzEvaluateRequest", ["PolicyRules", "PolicyWatchAPI"]),
  ]
  for (name, dependencies) in fuzzTargets {
    package.targets.append(
      .executableTarget(
        name: name, dependencies: dependencies, path: "fuzz/\(name)",
        swiftSettings: [.swiftLanguageMode(.v6)]))
  }
}
