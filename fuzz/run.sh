#!/bin/bash
# Long coverage-guided runs of quiesce's fuzz targets (src/fuzz.rs) with cargo-fuzz.
#
# usage: fuzz/run.sh [RUNS] [TARGET...]   (default: 10000000 runs of every target)
# env:   FUZZ_MAX_SECONDS   stop each target after this many seconds too (default: none)
#        FUZZ_NO_TRACE_COMPARES=1  build without comparison tracing: 2-3x the executions per
#                           second on the text parsers (every character compared is traced
#                           otherwise), at the cost of guidance towards magic values; for a
#                           second phase that starts from a traced run's corpus
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`; neither is
# needed by the build or the test suite). Seeds are the test suite's (tests/fuzz_short.rs
# export_seeds: real bytes from tests/data and, when built, the fixtures). Each target runs
# with no sanitizer (safe Rust: a panic is the bug class; ~10x the speed of ASan), a 5 s
# per-input limit, a 2 GiB memory limit and inputs up to 1 MiB. Results go to
# fuzz/results.tsv (target, executions, exec/s, seconds, crashes); a crash leaves its input
# in fuzz/artifacts/<target>/ — copy it to tests/data/fuzz/<target>-<hash>.bin, fix the
# bug, and tests/fuzz_short.rs's regressions test keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dump text btf kallsyms orc dwarf_expr printk_legacy ko_elf keymap theme notes vmcoreinfo type_spelling qemu_monitor)
command -v cargo-fuzz > /dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }
seeds=fuzz/seeds
rm -rf "$seeds"
QUIESCE_FUZZ_SEEDS=$PWD/$seeds cargo test --release --test fuzz_short -- --ignored export_seeds > /dev/null 2>&1 ||
    { echo "exporting seeds failed" >&2; exit 1; }
flags=()
[ "${FUZZ_NO_TRACE_COMPARES:-0}" = 1 ] && flags+=(--no-trace-compares)
(cd fuzz && cargo +nightly fuzz build -s none "${flags[@]}") >&2
printf 'target\texecutions\texec_per_s\tseconds\tcrashes\n' > fuzz/results.tsv
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    log=fuzz/artifacts/$t.log
    mkdir -p "fuzz/artifacts/$t"
    t0=$SECONDS rc=0
    (cd fuzz && cargo +nightly fuzz run -s none "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -runs="$RUNS" -max_total_time="${FUZZ_MAX_SECONDS:-0}" -timeout=5 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1) \
        > "$log" 2>&1 || rc=$?
    execs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -1)
    rate=$(awk '/stat::average_exec_per_sec/ {print $NF}' "$log" | tail -1)
    crashes=$(find "fuzz/artifacts/$t" -type f | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "${rate:-?}" "$((SECONDS - t0))" "$crashes" | tee -a fuzz/results.tsv
    [ "$rc" = 0 ] || echo "$t: exit $rc (see $log)" >&2
done
