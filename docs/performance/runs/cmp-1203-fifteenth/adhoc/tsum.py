import json,collections,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
# group by (who,pid): per-second total, and per-thread totals over the busiest 20 s
byproc=collections.defaultdict(list)
for r in rows: byproc[(r[1],r[2])].append(r)
for (who,pid),rs in byproc.items():
    if who=='relay': continue
    persec=collections.Counter()
    for r in rs: persec[r[0]]+=r[5]+r[6]
    secs=sorted(persec)
    # busiest 20 consecutive seconds
    best=max(range(len(secs)),key=lambda i:sum(persec[s] for s in secs[i:i+20]))
    win=set(secs[best:best+20])
    th=collections.defaultdict(lambda:[0,0,''])
    for r in rs:
        if r[0] in win: th[r[3]][0]+=r[5];th[r[3]][1]+=r[6];th[r[3]][2]=r[4]
    print(who,pid,'window',secs[best],'-',secs[min(best+19,len(secs)-1)],'total cores',round(sum(persec[s] for s in win)/100/20,3))
    for tid,(u,s,c) in sorted(th.items(),key=lambda x:-(x[1][0]+x[1][1]))[:8]:
        print('   ',tid,c.ljust(16),'user',round(u/100/20,3),'sys',round(s/100/20,3))
