import os,time,sys,json
out=open(sys.argv[1],'w')
prev={}
t0=time.time()
while time.time()-t0<float(sys.argv[2]):
    now=time.time()
    for pid in os.listdir('/proc'):
        if not pid.isdigit(): continue
        try: cmd=open(f'/proc/{pid}/cmdline','rb').read().replace(b'\0',b' ').decode()
        except: continue
        if 'artillery' in cmd and 'bin/run' in cmd: who='pack'
        elif 'plain-ws-driver' in cmd and 'tsx' not in cmd.split()[0]: who='drv'
        elif 'plain-ws-driver' in cmd: who='drv'
        elif 'dist/backend/src/main.js' in cmd: who='relay'
        else: continue
        try: tids=os.listdir(f'/proc/{pid}/task')
        except: continue
        for tid in tids:
            try: s=open(f'/proc/{pid}/task/{tid}/stat').read()
            except: continue
            comm=s[s.index('(')+1:s.rindex(')')]
            f=s[s.rindex(')')+2:].split()
            ut,st=int(f[11]),int(f[12])
            k=(who,pid,tid)
            if k in prev:
                du,ds=ut-prev[k][0],st-prev[k][1]
                if du+ds>0: out.write(json.dumps([round(now-t0,1),who,pid,tid,comm,du,ds])+'\n')
            prev[k]=(ut,st)
    out.flush()
    time.sleep(1-((time.time()-t0)%1))
