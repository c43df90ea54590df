# Shared by the bench scripts that time whole commands. Source it after defining
# `measure CMD...`, which runs the command once and prints one line whose first field is the wall
# time in seconds; RUNS says how many runs to make.
#
# best_of CMD...: the line of the run with the lowest wall time.
best_of() {
  local best=""
  for _ in $(seq "$RUNS"); do
    local r
    r=$(measure "$@")
    if [ -z "$best" ] || awk -v a="${r%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best=$r; fi
  done
  echo "$best"
}
