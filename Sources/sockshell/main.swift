import SockShellKit

// --sandbox (and --wire where this user may not capture) first, while the process has one thread.
let arguments = Sandbox.enterIfAsked(Array(CommandLine.arguments.dropFirst()))
// Options that apply to every subcommand are taken before it too: `sockshell --lessons DIR lesson ID`.
SockShellMain.main(SockShellMain.optionsAfterSubcommand(arguments))
