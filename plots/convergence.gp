# convergence.gp: the convergence of a search (soap search --log FILE.csv):
# the best simulated iteration time of each chain and of all chains against
# wall-clock seconds.
# usage: gnuplot -e "in='log.csv'; out='convergence.png'" plots/convergence.gp
#        (optional: title='...')
# The CSV: '#' provenance lines, a header, then
#   elapsed_s,proposals,chain,current_s,best_s,overall_best_s
if (!exists("in")) in = 'search-log.csv'
if (!exists("out")) out = 'convergence.png'
if (!exists("title")) title = 'search convergence'
set terminal pngcairo size 900,560 font ',10'
set output out
set datafile separator ','
set datafile commentschars '#'
set key top right
set title title
set xlabel 'search time (s, wall clock)'
set ylabel 'best iteration time (ms, simulated)'
set grid
stats in using 3 skip 1 nooutput
nchains = int(STATS_max) + 1
# Rows of chain c only (others are skipped as missing points).
of_chain(c) = (column(3) == c && strcol(5) ne '') ? column(5) * 1e3 : NaN
set style data steps
plot for [c=0:nchains-1] in skip 1 using 1:(of_chain(c)) lw 1.5 title sprintf('chain %d best', c), \
     in skip 1 using 1:(strcol(6) ne '' ? column(6) * 1e3 : NaN) with points pt 7 ps 0.4 lc rgb 'black' title 'overall best'
