#!/bin/sh
# Make sure the build and test dependencies are installed.
#   scripts/deps.sh build   what `make` needs
#   scripts/deps.sh test    what `make test` needs as well
#   scripts/deps.sh bench   what `make bench` needs as well
#   scripts/deps.sh e2e     what `make e2e` needs as well (the agent CLIs
#                           themselves come from npm, in tests/e2e/run.py)
# As root on Debian or Ubuntu, installs what is missing with apt-get.
# Elsewhere, prints the exact packages and fails.
set -eu
what=${1:-build}

# command-or-file:package pairs
need="clang:clang llc:llvm bpftool:bpftool pkg-config:pkg-config
/usr/include/bpf/libbpf.h:libbpf-dev /usr/include/libelf.h:libelf-dev
/usr/include/zlib.h:zlib1g-dev /usr/include/openssl/evp.h:libssl-dev make:make cc:gcc"
if [ "$what" = test ] || [ "$what" = bench ] || [ "$what" = e2e ]; then
	# rsyslogd: the syslog export is tested against a real one on loopback
	need="$need python3:python3 bash:bash /usr/sbin/rsyslogd:rsyslog groff:groff-base"
	# ASan/UBSan runtime for the unit tests and libFuzzer for `make fuzz`
	need="$need $(clang_rt=$(ls -d /usr/lib/llvm-*/lib/clang/*/lib/linux 2>/dev/null | head -n1); \
		[ -n "$clang_rt" ] && [ -e "$clang_rt/libclang_rt.asan-$(uname -m).a" ] \
		&& echo "$clang_rt/libclang_rt.asan-$(uname -m).a:libclang-rt-dev" \
		|| echo "/nonexistent/libclang_rt.asan:libclang-rt-dev")"
	# The escape tests hand a command to tmux, screen and at (rules/
	# escapes.rules) and check it is held at its exec; ssh talks to a
	# closed loopback port.  systemd-run comes with systemd.
	need="$need tmux:tmux screen:screen at:at ssh:openssh-client"
fi
if [ "$what" = bench ]; then
	# The peers make bench compares against: the Linux audit daemon with an
	# execve rule, libbpf-tools' execsnoop (Debian installs it as
	# /usr/sbin/execsnoop) and bpftrace on sched_process_exec.
	need="$need auditctl:auditd /usr/sbin/auditd:auditd /usr/sbin/execsnoop:libbpf-tools bpftrace:bpftrace"
fi

if [ "$what" = e2e ]; then
	# Node.js and npm install and run the agents; git for the workspaces
	# and the forced push; tmux for the reviewer's terminal; iproute2 to
	# bring up loopback in the tests' own network namespace.
	need="$need node:nodejs npm:npm git:git tmux:tmux ip:iproute2"
fi

missing=""
for pair in $need; do
	thing=${pair%%:*}
	pkg=${pair#*:}
	case "$thing" in
	/*) [ -e "$thing" ] && continue ;;
	*) command -v "$thing" >/dev/null 2>&1 && continue ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && [ -r /etc/os-release ] && \
   grep -Eqi '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; then
	echo "agentwatch: installing missing packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || true
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
	exit 0
fi
echo "agentwatch: missing build dependencies; install these packages:$missing" >&2
echo "  (Debian/Ubuntu: sudo apt-get install$missing)" >&2
exit 1
