# gnuplot -e "csv='samples.csv'; png='soak.png'; restart=SECONDS_OR_-1" plot.gp
set terminal pngcairo size 1200,1100 font ",10"
set output png
set datafile separator ","
set key autotitle columnhead top left
set multiplot layout 4,1 title "bottle-egress soak: reloads every second (10 / 10,000 routes, every 10th bad), faults, one ctl restart"
set xlabel "seconds"
set grid
if (restart >= 0) { set arrow from restart, graph 0 to restart, graph 1 nohead dt 2 lc rgb "red" }
set ylabel "requests / s"
plot csv using 1:3 with lines title "legitimate ok", \
     csv using 1:4 with impulses lw 2 title "legitimate failed", \
     csv using 1:5 with impulses lw 2 title "failed during restart (retried)"
set ylabel "MiB / count"
plot csv using 1:6 with lines title "RSS MiB", \
     csv using 1:7 with lines title "open fds", \
     csv using 1:8 with lines title "live snapshots"
set ylabel "ms"
plot csv using 1:9 with lines title "p50 small GET", csv using 1:10 with lines title "p99 small GET"
set ylabel "ms (log)"
set logscale y
set yrange [0.05:*]
plot csv using 1:11 with steps title "longest loop iteration (histogram bound)", \
     5 with lines dt 3 lc rgb "red" title "5 ms target"
unset multiplot
