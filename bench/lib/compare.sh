# bench/lib/compare.sh: what the side-by-side scripts (opd-compare, opd-gpt-compare) share.
# Sourced; the caller sets $tmp (a scratch directory), $results (a file) and $r (the
# round) before calling run.

# field KEY LINE -> the value of KEY=value in LINE
field() {
  echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# run NAME THREADS CMD...: runs CMD (whose last line has steps_per_s=..., and which
# prints "# step ms median M (min N, ..." and "# peak RSS X MB" when it can); appends
# "NAME THREADS ROUND median_ms min_ms rss_mb" to $results and prints a progress line
run() {
  local name=$1 th=$2; shift 2
  local out
  out=$("$@" 2>&1) || { echo "$(basename "$0"): $name failed:"; echo "$out"; exit 1; } >&2
  local last sps rss mn
  last=$(echo "$out" | tail -1)
  sps=$(field steps_per_s "$last")
  mn=$(echo "$out" | sed -n 's/^# step ms median [0-9.]* (min \([0-9.]*\),.*/\1/p')
  rss=$(echo "$out" | sed -n 's/^# peak RSS \([0-9.]*\) MB/\1/p')
  local ms
  ms=$(awk -v s="$sps" 'BEGIN{printf "%.3f", 1000/s}')
  echo "$name $th $r $ms ${mn:-nan} ${rss:--}" >> "$results"
  printf '  round %d  %-12s threads=%s  median %8.2f ms/step  (min %s)\n' "$r" "$name" "$th" "$ms" "${mn:-?}"
}

med() { sort -g | awk '{a[NR]=$1} END{if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# median NAME THREADS [COLUMN=4] -> the median over rounds
median() {
  awk -v n="$1" -v t="$2" -v c="${3:-4}" '$1==n && $2==t {print $c}' "$results" | med
}

# ratio_median NUM DEN THREADS -> the median over rounds of NUM/DEN (same round)
ratio_median() {
  awk -v a="$1" -v b="$2" -v t="$3" '$2==t && $1==a {x[$3]=$4} $2==t && $1==b {y[$3]=$4}
    END {for (r in x) if (r in y) print x[r]/y[r]}' "$results" | med
}

# fma_peak SHARED_DIR: sets peak and peak2 (GF/s of one core, AVX-512 and AVX2 FMA) from
# SHARED_DIR/fma_peak.c; peak is empty when the CPU has no AVX-512
fma_peak() {
  if grep -qw avx512f /proc/cpuinfo && [ -f "$1/fma_peak.c" ]; then
    gcc -O2 -mavx512f -mfma -o "$tmp/fma_peak" "$1/fma_peak.c"
    "$tmp/fma_peak" > "$tmp/fma.txt"
    peak=$(sed -n 's/^avx512 fma peak: \([0-9.]*\) GF.*/\1/p' "$tmp/fma.txt")
    peak2=$(sed -n 's/^avx2 fma peak: \([0-9.]*\) GF.*/\1/p' "$tmp/fma.txt")
    echo "# FMA peak per core (fma_peak.c): AVX-512 $peak GF/s, AVX2 $peak2 GF/s"
  else
    peak="" peak2=""
    echo "# FMA peak: this CPU has no AVX-512 (fma_peak.c needs it); no FMA-peak bound"
  fi
}
