#!/usr/bin/env bash
# The figures of issue 9 (not part of make test): loading a lesson at the policy's limits and a
# refused one with 16,000 placeholders, and the Ctrl-C latency at a prompt whose partner waits or
# blocks in the kernel. Needs a release build and hyperfine (scripts/debian-packages-measure.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/sockshell
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/max" "$work/many" "$work/wait" "$work/busy"
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
ports = ' '.join('{port}' if i == 1 else '{port%d}' % i for i in range(1, 17))
steps = []
for n in range(1, 31):
    steps.append('## Step %d\n\nPorts: %s\n\n```check\n%s\n```\n\n```solution\n%s\n```\n\n```partner\n%s\n```\n' % (
        n, ports, '\n'.join(['socket type=tcp'] * 60), '\n'.join(['s%d = socket tcp' % n] + ['ls'] * 69),
        '\n'.join(['sleep 1'] * 70)))
open(work + '/max/01-max.md', 'w').write('---\nid: max\ntitle: Max\n---\n\n' + '\n'.join(steps))
many = ' '.join('{port%d}' % i for i in range(2, 16002))
open(work + '/many/01-many.md', 'w').write(
    '---\nid: many\ntitle: Many\n---\n\n## S\n\n%s\n\n```check\nsocket type=tcp\n```\n\n```solution\ns = socket tcp\n```\n' % many)
lesson = '---\nid: waiting\ntitle: Waiting\n---\n\n## Wait\n\n```partner\n%s\n```\n\n```check\nsocket type=udp\n```\n\n```solution\ns = socket udp\n```\n'
open(work + '/wait/01-waiting.md', 'w').write(lesson % 'wait listening 127.0.0.1:1\np = socket tcp')
open(work + '/busy/01-waiting.md', 'w').write(lesson % '\n'.join(
    ['a = socket tcp', 'bind a 127.0.0.1:0', 'listen a', 'b = socket tcp', 'connect b a'] + ['send b --size 16000000'] * 60))
PY
wc -l "$work/max/01-max.md" "$work/many/01-many.md"
hyperfine -N -i --warmup 2 --runs 15 "$bin lessons --lessons $work/max" "$bin lessons --lessons $work/many"
python3 scripts/ctrlc-latency.py "$bin" "$work/wait"
python3 scripts/ctrlc-latency.py "$bin" "$work/busy"
