// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cloudspool",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cloudspool-fetch", targets: ["fetch"]),
        .executable(name: "cloudspool-transform", targets: ["transform"]),
        .executable(name: "cloudspool-load", targets: ["load"]),
        .executable(name: "cloudspool-audit", targets: ["audit"]),
        .library(name: "Shared", targets: ["Shared"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // sync_file_range(2) for write-behind of large output (glibc declares it only under _GNU_SOURCE).
        .target(name: "CFileIO", path: "Sources/CFileIO"),
        .target(
            name: "Shared",
            dependencies: [
                "CCurl",
                "CZlib",
                "CFileIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "fetch",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "transform",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "load",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "audit",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: ["Shared", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"]
        ),
    ]
)
