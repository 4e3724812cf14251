#!/usr/bin/env bash
# Side-by-side: quiesce vs drgn vs crash on the same dump, same cases, one run.
#
#   benches/compare.sh [-n REPS] [-c DUMP] [-s VMLINUX] [-m MODULES_DIR] [-k CASES] [-o docs/benchmarks.md]
#
# Each case (open + ps, open + print init_task.comm, open + bt of every task, open + every
# task's frame locals; crash has no locals; with -k also stacks, srcu, rcu and explain,
# which only quiesce has) runs once untimed per tool (page cache
# warm-up), then REPS times under /usr/bin/time -f "%e %M"; the median wall time and the
# median max RSS are reported, with ratios quiesce/drgn and quiesce/crash. quiesce runs twice:
# "cold" without its on-disk index cache (QUIESCE_INDEX_CACHE=0: every run indexes from
# scratch, like the first run on a new vmlinux) and "warm" with a cache (in a temporary
# directory, filled by the warm-up run), and a third time for ps, print and bt as "dump-only"
# (`--no-debuginfo`: kallsyms, BTF and ORC from the dump, no vmlinux). Writes the tables to the output file (default
# docs/benchmarks.md; text after a line "<!-- notes -->" in it is kept) and to stdout.
# -m gives every tool the modules' debug files too (quiesce -s DIR, drgn load_debug_info
# with each .ko, crash "mod -S DIR" before the case's command). -k CASES chooses the cases
# (default "ps print bt locals"; the big fixture: "ps bt stacks srcu rcu explain").
# Tools: quiesce from $QUIESCE (default: cargo build --release into $CARGO_TARGET_DIR or
# target/), drgn through $DRGN_PYTHON (the fixtures' venv python), crash from $CRASH.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fx=${QUIESCE_FIXTURES:-$HOME/.cache/quiesce/fixtures}
reps=5
dump=$fx/bookworm/dumps/hang.elf
vmlinux=$fx/bookworm/vmlinux
out=$root/docs/benchmarks.md
moddir=
cases="ps print bt locals"
while getopts "n:c:s:o:m:k:" opt; do
    case $opt in
    n) reps=$OPTARG ;;
    c) dump=$OPTARG ;;
    s) vmlinux=$OPTARG ;;
    o) out=$OPTARG ;;
    m) moddir=$OPTARG ;;
    k) cases=$OPTARG ;;
    *) exit 2 ;;
    esac
done
drgn_py=${DRGN_PYTHON:-$fx/tools/venv/bin/python}
# crash is built once per target architecture (make target=ARM64): pick by the vmlinux's
# ELF machine (183 = EM_AARCH64).
machine=$(od -An -tu2 -j18 -N2 "$vmlinux" 2>/dev/null | tr -d ' ')
if [[ $machine == 183 ]]; then
    arch=arm64
    crash=${CRASH:-$fx/tools/crash-arm64}
else
    arch=x86_64
    crash=${CRASH:-$fx/tools/crash}
fi
if [[ -z ${QUIESCE:-} ]]; then
    (cd "$root" && cargo build --release --quiet)
    QUIESCE=${CARGO_TARGET_DIR:-$root/target}/release/quiesce
fi
for f in "$dump" "$vmlinux" "$QUIESCE" "$drgn_py" "$crash"; do
    [[ -e $f ]] || { echo "compare.sh: missing $f" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# drgn: the same work as quiesce ps (every task's pid, ppid, cpu, state, comm) and print.
cat >"$tmp/ps.py" <<'PY'
import sys, drgn
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_cpu, task_state_to_char
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]] + sys.argv[3:])
for t in for_each_task(prog):
    print(int(t.pid), int(t.real_parent.pid), task_cpu(t), task_state_to_char(t),
          hex(t.value_()), t.comm.string_().decode())
PY
cat >"$tmp/print.py" <<'PY'
import sys, drgn
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]] + sys.argv[3:])
print(prog["init_task"].comm)
PY
cat >"$tmp/bt.py" <<'PY'
import sys, drgn
from drgn.helpers.linux.pid import for_each_task
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]] + sys.argv[3:])
for t in for_each_task(prog):
    try:
        for f in prog.stack_trace(t):
            print(f.name)
    except Exception as e:
        print("error", e)
PY
# Every local of every frame of every task, read as drgn reads them (value or address).
cat >"$tmp/locals.py" <<'PY'
import sys, drgn
from drgn.helpers.linux.pid import for_each_task
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]] + sys.argv[3:])
for t in for_each_task(prog):
    try:
        trace = prog.stack_trace(t)
    except Exception as e:
        print("error", e)
        continue
    for f in trace:
        for name in f.locals():
            try:
                v = f[name]
                print(name, "absent" if v.absent_ else
                      v.value_() if v.type_.kind in (drgn.TypeKind.INT, drgn.TypeKind.POINTER,
                                                     drgn.TypeKind.BOOL, drgn.TypeKind.ENUM)
                      else v.address_)
            except Exception as e:
                print(name, "error", e)
PY
crash_mods=
[[ -z $moddir ]] || crash_mods="mod -S $moddir"$'\n'
printf '%sforeach bt\nquit\n' "$crash_mods" >"$tmp/bt.crash"
printf '%sps\nquit\n' "$crash_mods" >"$tmp/ps.crash"
printf '%sp init_task.comm\nquit\n' "$crash_mods" >"$tmp/print.crash"
# the modules' debug files for drgn (after the vmlinux) and quiesce (-s DIR)
kos=()
qmods=()
if [[ -n $moddir ]]; then
    kos=("$moddir"/*.ko)
    qmods=(-s "$moddir")
fi

# run NAME CMD...: warm-up, then $reps timed runs; prints "median_seconds median_kb".
# A tool that fails on the dump (crash 9.0.2 on arm64 6.12/7.x: "invalid kernel virtual
# address") prints "- -" and its reason goes to $tmp/NAME.failed; quiesce failing stops
# the run.
run() {
    local name=$1
    shift
    if ! "$@" >"$tmp/$name.out" 2>&1; then
        if [[ $name == *.crash || $name == *.drgn ]]; then
            grep -m1 -iE 'error|invalid|cannot|fail' "$tmp/$name.out" >"$tmp/$name.failed" ||
                tail -1 "$tmp/$name.out" >"$tmp/$name.failed"
            : >"$tmp/$name.times"
            echo "- -"
            return
        fi
        echo "compare.sh: $name failed: $*" >&2
        exit 1
    fi
    : >"$tmp/$name.times"
    for _ in $(seq "$reps"); do
        /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>&1
        cat "$tmp/t" >>"$tmp/$name.times"
    done
    local mid=$(((reps + 1) / 2))
    local s kb
    s=$(cut -d' ' -f1 "$tmp/$name.times" | sort -g | sed -n "${mid}p")
    kb=$(cut -d' ' -f2 "$tmp/$name.times" | sort -g | sed -n "${mid}p")
    echo "$s $kb"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "—"; else if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "-") print "—"; else printf "%.0f", k / 1024 }'; }
declare -A res
for case in $cases; do
    case $case in
    ps) qargs=(ps) ;;
    print) qargs=(print init_task.comm) ;;
    bt) qargs=(bt --all) ;;
    locals) qargs=(bt --all --locals) ;;
    stacks | srcu | rcu | explain) qargs=("$case") ;;
    *) echo "compare.sh: unknown case $case" >&2; exit 2 ;;
    esac
    echo "running $case: quiesce (cold)" >&2
    res[$case.cold]=$(QUIESCE_INDEX_CACHE=0 run "$case.cold" "$QUIESCE" "${qargs[@]}" -c "$dump" -s "$vmlinux" "${qmods[@]}")
    echo "running $case: quiesce (warm)" >&2
    res[$case.warm]=$(QUIESCE_INDEX_CACHE_DIR=$tmp/idx run "$case.warm" "$QUIESCE" "${qargs[@]}" -c "$dump" -s "$vmlinux" "${qmods[@]}")
    if [[ $case == ps || $case == print || $case == bt ]]; then
        echo "running $case: quiesce (dump-only, no vmlinux)" >&2
        res[$case.donly]=$(run "$case.donly" "$QUIESCE" "${qargs[@]}" -c "$dump" --no-debuginfo)
    fi
    if [[ -f $tmp/$case.py ]]; then
        echo "running $case: drgn" >&2
        res[$case.drgn]=$(run "$case.drgn" "$drgn_py" "$tmp/$case.py" "$dump" "$vmlinux" "${kos[@]}")
    else
        res[$case.drgn]="- -"
        : >"$tmp/$case.drgn.times"
    fi
    if [[ -f $tmp/$case.crash ]]; then
        echo "running $case: crash" >&2
        res[$case.crash]=$(run "$case.crash" "$crash" -s "$vmlinux" "$dump" -i "$tmp/$case.crash")
    else
        res[$case.crash]="- -"
        : >"$tmp/$case.crash.times"
    fi
done

{
    echo "# Benchmarks: quiesce vs drgn vs crash"
    echo
    echo "Generated by \`benches/compare.sh -n $reps\` on $(date -u +%Y-%m-%d) ($(date -u +%H:%M) UTC)."
    echo "Machine: $(uname -srm), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
    echo "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; other jobs may share the machine."
    echo "Dump: \`$(basename "$dump")\` ($(du -h "$dump" | cut -f1), $arch), vmlinux \`$vmlinux\`${moddir:+, the debug files of $(ls "$moddir"/*.ko | wc -l) modules (\`$moddir\`: quiesce \`-s\`, drgn \`load_debug_info\`, crash \`mod -S\`)}."
    echo "drgn $("$drgn_py" -c 'import drgn; print(drgn.__version__)') (Python API: set_core_dump + load_debug_info([vmlinux]));"
    echo "crash $("$crash" --version 2>/dev/null | awk 'NF { print $2; exit }') (\`-s VMLINUX DUMP -i CMDFILE\`)."
    echo
    echo "Median of $reps runs after one warm-up run each (page cache warm). Wall time in seconds,"
    echo "peak memory = max RSS (\`/usr/bin/time %M\`, file-backed mapped pages included)."
    echo
    echo "## Ratios (lower is better for quiesce)"
    echo
    echo "| case | quiesce | time quiesce/drgn | time quiesce/crash | RSS quiesce/drgn | RSS quiesce/crash |"
    echo "|---|---|---|---|---|---|"
    for case in $cases; do
        read -r ds dk <<<"${res[$case.drgn]}"
        read -r cs ck <<<"${res[$case.crash]}"
        for q in cold warm; do
            read -r qs qk <<<"${res[$case.$q]}"
            echo "| open + $case | $q | $(ratio "$qs" "$ds") | $(ratio "$qs" "$cs") | $(ratio "$qk" "$dk") | $(ratio "$qk" "$ck") |"
        done
    done
    echo
    echo "## Raw numbers (median seconds, median MiB)"
    echo
    echo "| case | quiesce cold s | quiesce warm s | drgn s | crash s | quiesce cold MiB | quiesce warm MiB | drgn MiB | crash MiB |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for case in $cases; do
        read -r qs qk <<<"${res[$case.cold]}"
        read -r ws wk <<<"${res[$case.warm]}"
        read -r ds dk <<<"${res[$case.drgn]}"
        read -r cs ck <<<"${res[$case.crash]}"
        echo "| open + $case | $qs | $ws | ${ds/-/—} | ${cs/-/—} | $(mib "$qk") | $(mib "$wk") | $(mib "$dk") | $(mib "$ck") |"
    done
    echo
    echo "## Dump-only mode (no vmlinux: kallsyms, BTF and, on x86_64, ORC read from the dump)"
    echo
    echo "\`quiesce CMD -c DUMP --no-debuginfo\` against drgn and quiesce with the vmlinux's DWARF."
    echo
    echo "| case | dump-only s | dump-only MiB | time / drgn DWARF | time / quiesce DWARF cold | time / quiesce DWARF warm | RSS / quiesce DWARF cold | RSS / quiesce DWARF warm |"
    echo "|---|---|---|---|---|---|---|---|"
    for case in $cases; do
        [[ -n ${res[$case.donly]:-} ]] || continue
        read -r os ok <<<"${res[$case.donly]}"
        read -r qs qk <<<"${res[$case.cold]}"
        read -r ws wk <<<"${res[$case.warm]}"
        read -r ds dk <<<"${res[$case.drgn]}"
        echo "| open + $case | $os | $(mib "$ok") | $(ratio "$os" "$ds") | $(ratio "$os" "$qs") | $(ratio "$os" "$ws") | $(ratio "$ok" "$qk") | $(ratio "$ok" "$wk") |"
    done
    echo
    for f in "$tmp"/*.failed; do
        [[ -e $f ]] || continue
        n=$(basename "$f" .failed)
        echo "- ${n%%.*} with ${n#*.} failed on this dump: \`$(cut -c1-160 "$f")\`"
    done
    echo
    echo "All runs (seconds, KiB):"
    echo
    echo '```'
    for case in $cases; do
        for tool in cold warm donly drgn crash; do
            [[ -f $tmp/$case.$tool.times ]] || continue
            echo "$case $tool: $(tr '\n' ';' <"$tmp/$case.$tool.times")"
        done
    done
    echo '```'
    if [[ -f $out ]] && grep -q '^<!-- notes -->$' "$out"; then
        echo
        sed -n '/^<!-- notes -->$/,$p' "$out"
    fi
} | tee "$out.tmp"
mv "$out.tmp" "$out"
