import Foundation
import Testing

/// The real binary, as a user runs it: `sockshell run FILE`, `sockshell < FILE`.
@Suite struct ScriptTests {
  @Test func runStopsAtTheFirstFailingLineWithItsNumber() throws {
    let result = try runScript(
      """
      s = socket tcp
      bind s 127.0.0.1:0 = 0
      connect s [::1]:1 = 0
      ls
      """)
    #expect(result.status == 1)
    #expect(result.stderr.contains(":3: expected = 0, but connect returned -1 EAFNOSUPPORT"))
    #expect(!result.stdout.contains("sockshell> ls"), "the script must stop at line 3")
    #expect(result.stdout.contains("closed 1 descriptor: 3 (s)"))
  }

  @Test func keepGoingRunsOnAndStillFails() throws {
    let result = try runScript("lisen 3\ns = socket udp\nbind s 127.0.0.1:0 = 5\nls\n", arguments: ["--keep-going"])
    #expect(result.status == 1)
    #expect(result.stdout.contains("did you mean 'listen'"))
    #expect(result.stdout.contains("sockshell> ls"))
    #expect(result.stderr.contains(":1: unknown command 'lisen'"))
    #expect(result.stderr.contains(":3: expected = 5, but bind returned 0"))
    #expect(result.stderr.contains("2 lines failed"))
  }

  @Test func exitCodeZeroWhenEveryLineHolds() throws {
    let result = try runScript("# comment\n\nu = socket udp = 3\nclose u = 0\n")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stderr.isEmpty)
  }

  @Test func pipedInputIsEchoedLikeASession() throws {
    let result = try runProgram(sockshellPath, [], input: "s = socket tcp\nls\n")
    #expect(result.status == 0)
    #expect(result.stdout.contains("sockshell> s = socket tcp\nsocket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"))
    #expect(result.stdout.contains("sockshell> ls\nFD  NAME"))
  }

  @Test func missingScriptFile() throws {
    let result = try runProgram(sockshellPath, ["run", "/nonexistent/script.ss"])
    #expect(result.status == 2)
    #expect(result.stderr.contains("cannot open /nonexistent/script.ss: No such file or directory"))
    let folder = try runProgram(sockshellPath, ["run", "/tmp"])
    #expect(folder.status == 2)
    #expect(folder.stderr.contains("cannot open /tmp: Is a directory"))
  }

  @Test func hostileScriptBytesNeverReachTheTerminal() throws {
    let result = try runScript("send 3 \"\u{1B}[2J\"\n\u{1B}]0;title\u{07}\n\u{9B}31m\n", arguments: ["--keep-going"])
    #expect(result.status == 1)
    #expect(!result.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B })
    #expect(!result.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B })
  }

  @Test func descriptorLimitGivesEMFILE() throws {
    let script = (1...12).map { _ in "socket udp" }.joined(separator: "\n") + "\n"
    let path = NSTemporaryDirectory() + "emfile-\(UUID().uuidString).ss"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try runProgram(
      "/bin/sh", ["-c", "ulimit -n 10 && exec \"$0\" run --keep-going \"$1\"", sockshellPath, path])
    #expect(result.stdout.contains("EMFILE (Too many open files)"))
    #expect(result.stdout.contains("This process has no descriptors left"))
  }

  @Test func privilegedPortGivesEACCESForOrdinaryUsers() throws {
    var command = [sockshellPath, "run", "-"]
    if getuid() == 0 {
      guard let setpriv = which("setpriv") else { return }
      command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + command
    }
    let result = try runProgram(
      command[0], Array(command.dropFirst()), input: "s = socket tcp\nbind s 127.0.0.1:80 = -1 EACCES\n")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("Ports below 1024 are privileged"))
  }

  /// Every ```sockshell block of the README runs and holds, so the README cannot go stale.
  @Test func readmeExamplesRun() throws {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    let blocks = fencedBlocks(readme, info: "sockshell")
    #expect(blocks.count >= 2)
    for block in blocks {
      let result = try runScript(block)
      #expect(result.status == 0, "README block failed:\n\(block)\n\(result.stdout)\(result.stderr)")
    }
  }
}

let packageRoot: String = {
  var url = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { url.deleteLastPathComponent() }
  return url.path
}()

/// The contents of the fenced code blocks with this info string.
func fencedBlocks(_ markdown: String, info: String) -> [String] {
  var blocks: [String] = []
  var current: [Substring]?
  for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
    if current == nil, line == "```\(info)" {
      current = []
    } else if current != nil, line == "```" {
      blocks.append(current!.joined(separator: "\n") + "\n")
      current = nil
    } else {
      current?.append(line)
    }
  }
  return blocks
}

@Suite struct RobustnessTests {
  /// A script never hangs: every blocking call gives up after --timeout, the first of the process
  /// too (the kernel numbers that timer 0; the 100,000-line run of make fuzz found it hanging).
  @Test func everyBlockingCallOfAScriptGivesUpAfterTheTimeout() throws {
    let script = """
      u = socket udp
      recv u
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv
      accept srv
      recvfrom u
      ls
      """
    let result = try runScript(script, arguments: ["--keep-going", "--timeout", "1"])
    #expect(result.status == 1)
    let gaveUp = result.stdout.components(separatedBy: "Gave up after 1 s").count - 1
    #expect(gaveUp == 3, "\(result.stdout)")
    #expect(result.stdout.contains("recv(3, 0x..., 1024, 0) = -1 EINTR"))
    #expect(result.stdout.contains("LISTEN"), "the descriptors are still there after the timeouts")
  }

  /// Random and mutated lines: the shell never crashes or hangs, reports failures, and exits 1.
  @Test func randomLinesNeverCrashTheShell() throws {
    let words = [
      "socket", "tcp", "udp", "ipv6", "unix", "bind", "listen", "accept", "connect", "send", "recv", "sendto",
      "recvfrom", "close", "shutdown", "write", "getsockopt", "setsockopt", "nonblock", "poll", "ls", "--json",
      "inspect", "addr", "timeline", "trace", "help", "explain", "=", "-1", "0", "3", "a", "b", "127.0.0.1:0",
      "[::1]:0", "*:0", "@x", "\"hi\\n\"", "'x'", "hex:00ff", "--size", "10", "peek", "dontwait", "reuseaddr",
      "linger", "\"\\x1b[2J\"", "#", "\u{1B}", "\u{9B}", "\u{FF}", "é", "\"", "\\", "[", "]:", ":",
    ]
    let steps = [
      "a = socket tcp", "b = socket udp", "bind a 127.0.0.1:0", "listen a", "c = socket tcp", "connect c a",
      "d = accept a", "send c x", "recv d dontwait", "close c", "close d", "close a", "close b", "tcp a", "timeline",
    ]
    var seed: UInt64 = 42
    func next(_ bound: Int) -> Int {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((seed >> 33) % UInt64(bound))
    }
    var lines: [String] = []
    for _ in 0..<3000 {
      if next(4) == 0 {
        lines.append(steps[next(steps.count)])
      } else {
        lines.append((0...next(6)).map { _ in words[next(words.count)] }.joined(separator: " "))
      }
    }
    // Run in a scratch folder: save/export with random names must not litter the project.
    let folder = NSTemporaryDirectory() + "sockshell-random-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let script = folder + "/random.ss"
    try (lines.joined(separator: "\n") + "\n").write(toFile: script, atomically: true, encoding: .utf8)
    let result = try runProgram(
      "/bin/sh", ["-c", "cd \"$1\" && exec \"$0\" run --keep-going --timeout 1 random.ss", sockshellPath, folder],
      timeout: 120)
    #expect(result.status == 1, "exit status \(result.status): \(result.stderr.suffix(500))")
    #expect(result.stderr.contains("lines failed"))
    #expect(!result.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x9B })
  }

  /// save, export and --file touch only regular files: renaming over a device (/dev/null, which
  /// the 100,000-line random run of make fuzz replaced as root) or opening a FIFO (which waits
  /// for a writer forever) is refused.
  @Test func saveExportAndFileRefuseWhatIsNotAFile() throws {
    let folder = NSTemporaryDirectory() + "special-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    #expect(mkfifo(folder + "/fifo", 0o600) == 0)
    // As root (CI is), a copy of /dev/null: character device 1,3 (makedev(1, 3) is a C macro).
    let device = getuid() == 0 && mknod(folder + "/null", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0
    let result = try runScript(
      """
      s = socket tcp
      save \(folder)/fifo
      export c \(folder)/fifo
      send s --file \(folder)/fifo
      save \(folder)
      \(device ? "save \(folder)/null\nexport python \(folder)/null" : "")
      """, arguments: ["--keep-going"])
    #expect(result.status == 1)
    // stderr lists each failed line unwrapped: FILE:LINE: message.
    #expect(result.stderr.components(separatedBy: "fifo is a pipe (FIFO), not a file").count - 1 == 3)
    #expect(result.stderr.contains("is a directory, not a file"))
    var info = stat()
    #expect(lstat(folder + "/fifo", &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    if device {
      #expect(result.stderr.components(separatedBy: "null is a device, not a file").count - 1 == 2)
      #expect(lstat(folder + "/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "the device is still a device")
    }
  }

  @Test func saveNeverOverwritesSomeoneElsesFile() throws {
    let path = NSTemporaryDirectory() + "precious-\(UUID().uuidString).txt"
    try "my notes\n".write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try runScript("s = socket tcp\nsave \(path)\n")
    #expect(result.status == 1)
    #expect(result.stderr.contains("exists and was not written by sockshell"))
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "my notes\n")
    // A file sockshell wrote may be written again.
    let own = NSTemporaryDirectory() + "own-\(UUID().uuidString).ss"
    defer { try? FileManager.default.removeItem(atPath: own) }
    #expect(try runScript("s = socket tcp\nsave \(own)\nsave \(own)\n").status == 0)
  }
}

@Suite struct RawBytesTests {
  /// A script line that is not UTF-8 keeps its bytes: quoted data is sent as written.
  @Test func invalidUTF8InAScriptIsSentUnchanged() throws {
    var script = Data(connectedPair.utf8)
    script += Data("send c \"".utf8) + Data([0xFF, 0xFE, 0x41]) + Data("\" = 3\nrecv conn = 3\n".utf8)
    let path = NSTemporaryDirectory() + "raw-\(UUID().uuidString).ss"
    try script.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try runProgram(sockshellPath, ["run", path])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains(#"recv(5, "\xff\376A", 1024, 0) = 3"#))
  }

  /// Bytes that are not UTF-8, and control bytes, are shown as escapes in the echoed line and in
  /// the error (never as U+FFFD, which hides what was there), with the caret under the word.
  @Test func badBytesInALineAreShownAsEscapes() throws {
    let script =
      Data("socket tcp \u{1B}[31m x\nconnect ".utf8) + Data([0xFF]) + Data(" x\nbind 3 ".utf8)
      + Data([0xFE]) + Data(":1\nsend 3 \"\\".utf8) + Data([0xE2, 0x80, 0xAE]) + Data("\"\n# note ".utf8)
      + Data([0xFE, 0x0D]) + Data(" end\n".utf8)
    let path = NSTemporaryDirectory() + "bad-\(UUID().uuidString).ss"
    try script.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try runProgram(sockshellPath, ["run", "--keep-going", path])
    #expect(result.status == 1)
    #expect(!result.stdout.contains("\u{FFFD}") && !result.stderr.contains("\u{FFFD}"))
    #expect(!result.stdout.contains("\u{1B}"))
    #expect(result.stdout.contains(#"sockshell> connect \xff x"#))
    #expect(result.stdout.contains(#"error: '\xff' is not a descriptor"#))
    #expect(result.stdout.contains(#"error: '\xfe:1' is not an address"#))
    #expect(result.stdout.contains(#"unknown escape: a backslash before \xe2\x80\xae"#))
    #expect(result.stdout.contains(#"# note \xfe\r end"#), "a comment line is shown escaped too")
    // The caret stands under the escaped word: "  socket tcp " is 13 characters.
    #expect(result.stdout.contains("  socket tcp \\x1b[31m x\n" + String(repeating: " ", count: 13) + "^"))
  }
}

/// What a beginner types wrongly gets an answer about what was probably meant, and the shared
/// options work before the subcommand as after it.
@Suite struct BeginnerPathsTests {
  @Test func aPortAloneIsExplained() throws {
    let result = try runScript("s = socket tcp\nbind s 0\n")
    #expect(result.status == 1)
    #expect(
      result.stderr.contains("a port alone is written with a colon: :0 (every address) or 127.0.0.1:0"),
      "\(result.stderr)")
    #expect(!result.stdout.contains("standard input"), "\(result.stdout)")
  }

  @Test(arguments: [["--lessons", "LESSONS", "lessons"], ["lessons", "--lessons", "LESSONS"]])
  func sharedOptionsGoBeforeOrAfterTheSubcommand(arguments: [String]) throws {
    let home = NSTemporaryDirectory() + "home-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: home) }
    let result = try runProgram(
      sockshellPath, arguments.map { $0 == "LESSONS" ? packageRoot + "/Lessons" : $0 },
      environment: ["SOCKSHELL_HOME": home])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("addresses"))
  }
}

/// Every glyph follows the locale: under LANG=C no UTF-8 reaches the terminal, ✓ included.
@Suite struct LocaleGlyphTests {
  @Test func underLANGCTheLessonMarksAreWords() throws {
    let home = NSTemporaryDirectory() + "home-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: home) }
    let result = try runProgram(
      sockshellPath, ["run", "--lessons", packageRoot + "/Lessons", "-"],
      input: "lesson sockets\nsocket tcp\ncheck\ntimeline\n",
      environment: ["SOCKSHELL_HOME": home, "LANG": "C", "LC_ALL": "C"])
    #expect(result.stdout.contains("ok: Step 1 done"), "\(result.stdout)")
    #expect(result.stdout.utf8.allSatisfy { $0 < 0x80 }, "only ASCII under LANG=C")
  }

  /// A huge word is quoted by its start in an error, with a count of the rest.
  @Test func aHugeWordIsQuotedByItsStart() throws {
    let result = try runScript("close " + String(repeating: "x", count: 100_000) + "y\n")
    #expect(result.status == 1)
    #expect(result.stdout.contains("(99801 more bytes)"), "\(result.stdout.prefix(600))")
    #expect(result.stdout.count < 5_000, "the error is short")
  }
}

/// `help` alone fits a first screen with what a beginner needs; `help all` lists every command.
@Suite struct HelpScreenTests {
  @Test func helpIsShortAndHelpAllIsWhole() throws {
    let short = try runScript("help\n").stdout
    #expect(short.split(separator: "\n").count <= 40, "\(short)")
    #expect(short.contains("help all lists every command"))
    #expect(!short.contains("export c|python"))
    let whole = try runScript("help all\n").stdout
    #expect(whole.contains("export c|python|pcap FILE") && whole.contains("timeline [--ascii]"))
  }
}
