import SockShellKit

SockShellMain.main()
