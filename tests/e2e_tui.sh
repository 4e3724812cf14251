#!/usr/bin/env bash
# End-to-end smoke test of the TUI in tmux: open the fixture, fuzzy-find qh_srcu_sync, check
# its backtrace shows synchronize_srcu, quit with q and check the terminal is restored.
# Usage: tests/e2e_tui.sh QUIESCE_BIN DUMP VMLINUX [MODULES]
set -euo pipefail
BIN=$1 DUMP=$2 VMLINUX=$3 MODULES=${4:-}
S=quiesce-e2e-$$
SYMS=(-s "$VMLINUX")
[ -n "$MODULES" ] && SYMS+=(-s "$MODULES")
cleanup() { tmux kill-session -t "$S" 2>/dev/null || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- screen:"; tmux capture-pane -p -t "$S" || true; exit 1; }

# A fresh config dir: the user's keymap and theme must not change the test.
export XDG_CONFIG_HOME=$(mktemp -d)
tmux new-session -d -s "$S" -x 140 -y 40 \
  "env XDG_CONFIG_HOME=$XDG_CONFIG_HOME QUIESCE_KEYMAP=default $(printf '%q ' "$BIN" -c "$DUMP" "${SYMS[@]}"); echo EXITED:\$?; sleep 60"

wait_for() { # pattern, seconds
  for _ in $(seq 1 $(($2 * 5))); do
    if tmux capture-pane -p -t "$S" | grep -q -- "$1"; then return 0; fi
    sleep 0.2
  done
  return 1
}
screen() { tmux capture-pane -p -t "$S"; }

wait_for ' tasks · sort pid' 120 || fail "task table never appeared"
# The status line shows "job n/total (p%)" while any job runs.
for _ in $(seq 1 600); do
  screen | tail -n 1 | grep -qE '[0-9]+/[0-9]+ \([0-9]+%\)' || break
  sleep 0.2
done
screen | tail -n 1 | grep -qE '[0-9]+/[0-9]+ \([0-9]+%\)' && fail "jobs never finished"
[ "$(tmux display -p -t "$S" '#{alternate_on}')" = 1 ] || fail "not on the alternate screen"

tmux send-keys -t "$S" C-p
wait_for 'Find ·' 10 || fail "finder did not open"
tmux send-keys -t "$S" -l 'qh_srcu_sync'
wait_for '> qh_srcu_sync' 10 || fail "finder input not shown"
# The task is the best hit once the search has caught up with the typing.
wait_for 'task   qh_srcu_sync 106' 20 || fail "task not found by the finder"
screen
tmux send-keys -t "$S" Enter
wait_for 'Backtrace · 106 qh_srcu_sync' 20 || fail "backtrace pane not showing qh_srcu_sync"
screen | grep -q 'synchronize_srcu' || fail "no synchronize_srcu in the backtrace pane"
screen

tmux send-keys -t "$S" q
wait_for 'EXITED:0' 20 || fail "quiesce did not exit with 0 after q"
[ "$(tmux display -p -t "$S" '#{alternate_on}')" = 0 ] || fail "alternate screen still on"
[ "$(tmux display -p -t "$S" '#{mouse_any_flag}')" = 0 ] || fail "mouse reporting still on"
echo "PASS"
