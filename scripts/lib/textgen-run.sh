# textgen-run.sh: the shared part of the batch scripts in scripts/ (sourced, not run): start a training run in a run
# directory, or resume it, or skip it when it finished before, and pass stop signals on to textgen.
#
#   textgen_run RUN_DIR CONFIG [TRAIN_OPTIONS...]
#
# RUN_DIR/result.json (textgen's final --json line) marks a finished run: skipped. RUN_DIR/latest.zip: resumed with
# `train --resume RUN_DIR` (its own config and limits; of TRAIN_OPTIONS only --fallback-cpu, --verbose and
# --stacktrace are passed on). A RUN_DIR that holds a run but no checkpoint (killed before its first save) is moved
# aside to RUN_DIR.incomplete-<time>, never deleted, and the run starts over. Otherwise: `train --config CONFIG
# --run-dir RUN_DIR TRAIN_OPTIONS`. textgen's output goes to RUN_DIR/train.log and, live, to stdout.
#
# A run directory has one trainer at a time: while another textgen trains in RUN_DIR (it holds RUN_DIR/.lock), textgen
# refuses with exit 2, "in use". textgen_run then waits for it, looking again every 5 seconds for up to
# TEXTGEN_RUN_WAIT seconds (default 60; 0: not at all), and goes on as above once it has ended (a requeued Slurm job
# that starts while its predecessor still saves); after that it gives up with exit 2 and TEXTGEN_RUN_IN_USE=1. A run
# without a checkpoint is moved aside only when no textgen holds it (asked of textgen: `train --resume RUN_DIR`).
#
# Signals: SIGTERM, SIGINT, SIGHUP and SIGUSR1 to the calling script are passed on to textgen as one SIGTERM: it stops
# after the current step, saves a checkpoint and exits 130 (it takes a copy arriving within a second of one it got
# itself, from its process group or the whole Slurm job, as the same request). After SIGUSR1, TEXTGEN_RUN_TIME_LIMIT=1.
# Returns textgen's exit code (0 also for a skipped run). Uses $TEXTGEN (default: the launcher of this checkout).

TEXTGEN="${TEXTGEN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/textgen}"
TEXTGEN_RUN_TIME_LIMIT=0
TEXTGEN_RUN_IN_USE=0
# what textgen says, exit 2, when another textgen trains in the run directory
_TEXTGEN_IN_USE="is in use by another textgen train"

textgen_run() {
  local dir="$1" waited=0 limit="${TEXTGEN_RUN_WAIT:-60}" rc
  case "$limit" in ''|*[!0-9]*) echo "$dir: TEXTGEN_RUN_WAIT must be a whole number of seconds, not '$limit'" >&2; return 2 ;; esac
  TEXTGEN_RUN_IN_USE=0
  while :; do
    _textgen_run_once "$@"
    rc=$?
    [ "$rc" -eq 2 ] && [ -n "$_textgen_run_holder" ] || return "$rc"
    if [ "$waited" -ge "$limit" ]; then
      echo "$dir: in use by another textgen train ($_textgen_run_holder)$([ "$waited" -eq 0 ] || echo ", still after ${waited}s"); not started" >&2
      TEXTGEN_RUN_IN_USE=1
      return 2
    fi
    [ "$waited" -gt 0 ] || echo "$dir: in use by another textgen train ($_textgen_run_holder); waiting up to ${limit}s for it to end"
    sleep 5
    waited=$((waited + 5))
  done
}

# The holder named in the in-use refusal among textgen's output lines on stdin; empty when there is none.
_textgen_run_holder_in() {
  sed -n "s/.*$_TEXTGEN_IN_USE (\(.*\)): .*/\1/p" | head -n 1
}

# One attempt of textgen_run: decides what to do with the run directory as it is now, and does it. Sets
# _textgen_run_holder when the directory turned out to be in use (then nothing was started or changed).
_textgen_run_once() {
  local dir="$1" config="$2"
  shift 2
  local args=() a
  _textgen_run_holder=""
  if [ -f "$dir/result.json" ]; then
    echo "$dir: finished before (result.json), skipped"
    return 0
  elif [ -f "$dir/latest.zip" ]; then
    echo "$dir: resuming from latest.zip"
    args=(train --resume "$dir" --json)
    for a in "$@"; do
      case "$a" in --fallback-cpu|--verbose|--stacktrace) args+=("$a") ;; esac
    done
  else
    if [ -e "$dir/config.yaml" ]; then
      # a run before its first save, or killed then: only textgen knows whether one still holds it (a --resume
      # without a checkpoint fails at once either way, after checking the lock)
      local probe=(train --resume "$dir")
      for a in "$@"; do
        case "$a" in --fallback-cpu) probe+=("$a") ;; esac
      done
      _textgen_run_holder="$("$TEXTGEN" "${probe[@]}" 2>&1 < /dev/null | _textgen_run_holder_in)"
      [ -z "$_textgen_run_holder" ] || return 2
      local aside
      aside="$dir.incomplete-$(date +%Y%m%d-%H%M%S)"
      echo "$dir: holds a run without a checkpoint (stopped before its first save); moved to $aside, starting over"
      mv "$dir" "$aside" || return 1
    fi
    echo "$dir: new run of $config"
    args=(train --config "$config" --run-dir "$dir" --json "$@")
  fi
  mkdir -p "$dir" || return 1
  local log="$dir/train.log" start
  start="$(stat -c %s "$log" 2>/dev/null || echo 0)"
  echo "=== $(date '+%Y-%m-%d %H:%M:%S') textgen ${args[*]}" >> "$log"
  "$TEXTGEN" "${args[@]}" >> "$log" 2>&1 < /dev/null &
  local pid=$! rc
  # the live view: what textgen writes to the log, until it exits
  tail -n 0 -f --pid="$pid" "$log" &
  local tailpid=$!
  _textgen_run_signalled=0
  trap "_textgen_run_signalled=1; kill -TERM $pid 2>/dev/null" TERM INT HUP
  trap "_textgen_run_signalled=1; TEXTGEN_RUN_TIME_LIMIT=1; kill -TERM $pid 2>/dev/null" USR1
  while :; do
    _textgen_run_signalled=0
    wait "$pid"
    rc=$?
    [ "$_textgen_run_signalled" = 1 ] || break
    # a trapped signal ended the wait, not textgen: wait again (unless textgen is gone and its status was taken)
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      local again=$?
      [ "$again" -ne 127 ] && rc=$again
      break
    fi
  done
  trap - TERM INT HUP USR1
  wait "$tailpid" 2>/dev/null
  # this attempt's output only: the holder appends to the same log
  [ "$rc" -ne 2 ] || _textgen_run_holder="$(tail -c +$((start + 1)) "$log" | _textgen_run_holder_in)"
  if [ "$rc" -eq 0 ]; then
    grep '^{.*"run_dir"' "$log" | tail -n 1 > "$dir/.result.json.tmp" && mv "$dir/.result.json.tmp" "$dir/result.json"
  fi
  return "$rc"
}

# The value of a number or string field in a flat JSON object (textgen's --json line); empty when absent.
json_field() {
  sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p" "$1" 2>/dev/null | head -n 1
}
