// libcmark, the CommonMark reference parser (Debian's libcmark-dev).
#include <cmark.h>
