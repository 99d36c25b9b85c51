#!/bin/bash
# make install into a scratch prefix and make dist, checked as a lab uses them: the manual page
# renders with man -l, the completions load, and the tarball's binary runs with nothing from the
# Swift toolchain (ldd) and with the toolchain's folder masked in a private mount namespace.
set -euo pipefail
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

make --no-print-directory install PREFIX="$scratch/prefix" > "$scratch/install.log" 2>&1 \
  || { tail -20 "$scratch/install.log"; fail "make install failed"; }
prefix="$scratch/prefix"
[ -x "$prefix/bin/sockshell" ] || fail "no bin/sockshell"
ls "$prefix/share/sockshell/lessons/"*.md > /dev/null || fail "no lessons"
page="$(MANWIDTH=80 man -l "$prefix/share/man/man1/sockshell.1" 2>/dev/null)" || fail "man -l cannot read the page"
for word in present lesson run "--join"; do
  grep -q -- "$word" <<< "$page" || fail "the manual page does not mention $word"
done
echo "check-install: man -l shows $(wc -l <<< "$page") lines"
bash -c "source '$prefix/share/bash-completion/completions/sockshell' && complete -p sockshell" > /dev/null \
  || fail "the bash completion does not load"
grep -q "compdef\|#compdef" "$prefix/share/zsh/site-functions/_sockshell" || fail "no zsh completion"
grep -q "complete -c .sockshell" "$prefix/share/fish/vendor_completions.d/sockshell.fish" || fail "no fish completion"
# The installed binary finds the installed lessons.
(cd / && "$prefix/bin/sockshell" lessons | grep -q "sockets") || fail "the installed shell does not find its lessons"

make --no-print-directory dist > "$scratch/dist.log" 2>&1 || { tail -20 "$scratch/dist.log"; fail "make dist failed"; }
tarball="$(ls -t .build/sockshell-*.tar.gz | head -1)"
mkdir "$scratch/lab" && tar -C "$scratch/lab" -xzf "$tarball"
binary="$(ls "$scratch"/lab/*/bin/sockshell)"
toolchain="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")"
if ldd "$binary" | grep -q "$toolchain"; then
  ldd "$binary"; fail "the tarball's binary needs the Swift toolchain ($toolchain)"
fi
echo "check-install: ldd of the tarball's binary names nothing in $toolchain"
script='srv = socket tcp
bind srv 127.0.0.1:0 = 0
listen srv = 0
c = socket tcp
connect c srv = 0'
if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
  out="$(unshare --mount sh -c "mount -t tmpfs none '$toolchain' && ! ls '$toolchain'/bin/swift 2>/dev/null && cd / && '$binary' lessons && printf '%s\n' '$script' | '$binary'")" \
    || { echo "$out"; fail "the tarball's binary does not run with $toolchain masked"; }
  grep -q "ESTABLISHED" <<< "$out" || { echo "$out"; fail "the masked run did not connect"; }
  echo "check-install: $(basename "$tarball") runs with $toolchain masked (lessons found, a connection made)"
else
  echo "check-install: skipped the masked run: it needs root and unshare --mount"
fi
