// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "sockshell",
  products: [
    .executable(name: "sockshell", targets: ["sockshell"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    // libedit's C API; variadic el_set/history calls are wrapped in shim.h.
    .systemLibrary(
      name: "CEditLine",
      pkgConfig: "libedit",
      providers: [.apt(["libedit-dev"])]
    ),
    // CommonMark (lesson files) and YAML (their front matter), from Debian's packages.
    .systemLibrary(name: "CCMark", pkgConfig: "libcmark", providers: [.apt(["libcmark-dev"])]),
    .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
    // Small C helpers (gettid) that Glibc's module does not import.
    .target(name: "CSupport"),
    // Every socket system call, typed: descriptors, addresses, errno.
    // (and the one renderer of bytes, which measures characters with CSupport).
    .target(name: "SocketLayer", dependencies: ["CSupport"]),
    // The shell: command language, commands, session, rendering, line editor.
    .target(
      name: "SockShellKit",
      dependencies: ["SocketLayer", "CEditLine", "CSupport", "CCMark", "CYAML"]
    ),
    // Thin executable: parses the command line and hands over.
    .executableTarget(
      name: "sockshell",
      dependencies: [
        "SockShellKit",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(
      name: "SockShellTests",
      dependencies: ["SockShellKit", "SocketLayer", "CSupport"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
