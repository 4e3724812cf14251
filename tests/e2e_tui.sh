#!/usr/bin/env bash
# End-to-end test of the TUI in tmux: open the fixture, fuzzy-find qh_srcu_sync, check its
# backtrace shows synchronize_srcu, the SRCU pane shows quiesce_srcu with its reader; with a
# source tree, open the source at the __synchronize_srcu frame and add a note; quit with q
# and check the terminal is restored; reopen and find the note again.
# Usage: tests/e2e_tui.sh QUIESCE_BIN DUMP VMLINUX [MODULES] [KERNEL_SRC]
set -euo pipefail
BIN=$1 REAL_DUMP=$2 VMLINUX=$3 MODULES=${4:-} SRC=${5:-}
S=quiesce-e2e-$$
SYMS=(-s "$VMLINUX")
[ -n "$MODULES" ] && SYMS+=(-s "$MODULES")
[ -n "$SRC" ] && SYMS+=(--source "$SRC")
# The dump through a symlink in a scratch directory: notes are saved beside it, not beside
# the shared fixture.
WORK=$(mktemp -d)
DUMP=$WORK/$(basename "$REAL_DUMP")
ln -s "$REAL_DUMP" "$DUMP"
cleanup() { tmux kill-session -t "$S" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- screen:"; tmux capture-pane -p -t "$S" || true; exit 1; }

# A fresh config dir: the user's keymap and theme must not change the test.
export XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data
start() {
  tmux new-session -d -s "$S" -x 200 -y 45 \
    "env XDG_CONFIG_HOME=$XDG_CONFIG_HOME XDG_DATA_HOME=$XDG_DATA_HOME QUIESCE_KEYMAP=default $(printf '%q ' "$BIN" -c "$DUMP" "${SYMS[@]}"); echo EXITED:\$?; sleep 60"
}
# qh_srcu_sync's pid, from quiesce itself: a rebuilt fixture can number its kthreads
# differently.
pid_of() {
  "$BIN" ps -c "$DUMP" -s "$VMLINUX" ${MODULES:+-s "$MODULES"} 2>/dev/null |
    awk -v c="[$1]" '$NF == c { print $1; exit }'
}
PID=$(pid_of qh_srcu_sync) READER=$(pid_of qh_srcu_reader)
[ -n "$PID" ] && [ -n "$READER" ] || { echo "FAIL: no qh_srcu_sync/reader in quiesce ps"; exit 1; }
start

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
# The first screen is about the hang: the status line says where to go next, and the task
# table has left swapper/0 for the first finding's (uninterruptible) task.
screen | tail -n 1 | grep -qE '[0-9]+ findings?: W walks through' || fail "no findings hint"
screen | grep -q 'ST: UN' || fail "the first screen is not on an uninterruptible task"

tmux send-keys -t "$S" C-p
wait_for 'Find ·' 10 || fail "finder did not open"
tmux send-keys -t "$S" -l 'qh_srcu_sync'
wait_for '> qh_srcu_sync' 10 || fail "finder input not shown"
# The task is the best hit once the search has caught up with the typing.
wait_for "task   qh_srcu_sync $PID" 20 || fail "task not found by the finder"
screen
tmux send-keys -t "$S" Enter
wait_for "Backtrace · $PID qh_srcu_sync" 20 || fail "backtrace pane not showing qh_srcu_sync"
screen | grep -q 'synchronize_srcu' || fail "no synchronize_srcu in the backtrace pane"
screen

# The SRCU pane opens on the domain the selected task waits for: quiesce_srcu in SCAN2
# with one reader on idx 0, and its waiter.
tmux send-keys -t "$S" 3
wait_for 'SRCU · ' 20 || fail "SRCU pane did not open"
wait_for 'quiesce_srcu  *SCAN2  *1  *0 ' 60 || fail "quiesce_srcu with its reader not shown"
screen | grep -q "waiter: $PID qh_srcu_sync" || fail "no waiter row in the SRCU pane"
screen
# Back to the task table (focus), the selected task is still qh_srcu_sync. An Escape
# followed at once by another key reads as Alt+key (the terminal's escape-sequence
# ambiguity): under load both bytes arrive together, so wait until the focus has moved.
tmux send-keys -t "$S" Escape
sleep 1

# Follow the wait graph from the waiter: its chain is drawn first, as boxes and arrows
# (header; the waiter's box, rows 1-3; its arrow, 4-5; the domain's box, 6-8; the dashed
# candidate arrow to the reader, row 9, whose Enter goes to the reader).
tmux send-keys -t "$S" 5
wait_for 'Wait graph' 20 || fail "wait graph pane did not open"
wait_for "│ task qh_srcu_sync:$PID │" 30 || fail "the waiter's box is not drawn"
screen | grep -A1 'nodes, .* edges' | tail -1 | grep -q '┌' || fail "the waiter's chain is not first"
wait_for '│ srcu quiesce_srcu │' 10 || fail "no box for the SRCU domain"
wait_for '┆ is probably held by (candidate)' 10 || fail "no dashed candidate edge to the reader"
wait_for "│ task qh_srcu_reader:$READER │" 10 || fail "no box for the SRCU reader"
screen
tmux send-keys -t "$S" Down Down Down Down Down Down Down Down Down Enter
wait_for "Backtrace · $READER qh_srcu_reader" 20 || fail "following the edge did not reach the reader"
screen
# Back to the waiter for the source view.
tmux send-keys -t "$S" C-p
wait_for 'Find ·' 10 || fail "finder did not open again"
tmux send-keys -t "$S" -l 'qh_srcu_sync'
wait_for "task   qh_srcu_sync $PID" 20 || fail "task not found by the finder again"
tmux send-keys -t "$S" Enter
wait_for "Backtrace · $PID qh_srcu_sync" 20 || fail "backtrace pane not showing qh_srcu_sync again"

if [ -n "$SRC" ]; then
  # o on the task opens its first frame outside the scheduler: __synchronize_srcu.
  tmux send-keys -t "$S" o
  wait_for 'Source · kernel/rcu/srcutree.c' 30 || fail "source pane did not open srcutree.c"
  # qh_srcu_sync and qh_fan_sync block on the same line of __synchronize_srcu.
  wait_for "← 2 tasks block here: .*$PID" 10 || fail "no blocking annotation"
  tmux send-keys -t "$S" n
  wait_for 'Note on kernel/rcu/srcutree.c' 10 || fail "note overlay did not open"
  tmux send-keys -t "$S" -l 'e2e-note'
  tmux send-keys -t "$S" Enter
  wait_for 'notes saved to' 10 || fail "note not saved"
  wait_for '✎ e2e-note' 10 || fail "note not shown inline"
  [ -f "$DUMP.quiesce-notes.json" ] || fail "no notes file beside the dump"
  screen
fi

tmux send-keys -t "$S" q
wait_for 'EXITED:0' 20 || fail "quiesce did not exit with 0 after q"
[ "$(tmux display -p -t "$S" '#{alternate_on}')" = 0 ] || fail "alternate screen still on"
[ "$(tmux display -p -t "$S" '#{mouse_any_flag}')" = 0 ] || fail "mouse reporting still on"

if [ -n "$SRC" ]; then
  # Reopen: the note is loaded and shown at its line again.
  tmux kill-session -t "$S"
  start
  wait_for ' tasks · sort pid' 120 || fail "task table never appeared (second run)"
  wait_for 'unwind' 5 || true
  for _ in $(seq 1 600); do
    screen | tail -n 1 | grep -qE '[0-9]+/[0-9]+ \([0-9]+%\)' || break
    sleep 0.2
  done
  tmux send-keys -t "$S" C-p
  wait_for 'Find ·' 10 || fail "finder did not open (second run)"
  tmux send-keys -t "$S" -l 'qh_srcu_sync'
  wait_for "task   qh_srcu_sync $PID" 20 || fail "task not found (second run)"
  tmux send-keys -t "$S" Enter
  wait_for "Backtrace · $PID qh_srcu_sync" 20 || fail "backtrace (second run)"
  tmux send-keys -t "$S" o
  wait_for 'Source · kernel/rcu/srcutree.c' 30 || fail "source pane (second run)"
  wait_for '✎ e2e-note' 10 || fail "the note did not survive a restart"
  screen
  tmux send-keys -t "$S" q
  wait_for 'EXITED:0' 20 || fail "second run did not exit with 0"
fi
echo "PASS"
