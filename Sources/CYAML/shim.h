// libyaml, for lesson front matter (Debian's libyaml-dev).
#include <yaml.h>
