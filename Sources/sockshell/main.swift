import SockShellKit

// Options that apply to every subcommand are taken before it too: `sockshell --lessons DIR lesson ID`.
SockShellMain.main(SockShellMain.optionsAfterSubcommand(Array(CommandLine.arguments.dropFirst())))
