const fs=require('fs');
const p=JSON.parse(fs.readFileSync(process.argv[2]));
const byId=new Map(p.nodes.map(n=>[n.id,n]));
const self=new Map();
const dt=p.timeDeltas;let tot=0;
for(let i=0;i<p.samples.length;i++){const n=byId.get(p.samples[i]);const d=(dt[i+1]??0)/1000;tot+=d;
 const f=n.callFrame;const key=(f.functionName||'(anon)')+' '+f.url.replace(/.*node_modules\//,'nm/').replace(/.*\/work\/[^/]+\//,'')+':'+f.lineNumber;
 self.set(key,(self.get(key)||0)+d);}
const byFile=new Map();
for(const [k,v] of self){const file=k.split(' ')[1]?.split(':')[0]||'';const g=file.startsWith('nm/')?file.split('/').slice(0,2).join('/'):file;byFile.set(g,(byFile.get(g)||0)+v);}
console.log('total ms',tot.toFixed(0));
console.log('--- by file/package');
[...byFile].sort((a,b)=>b[1]-a[1]).slice(0,25).forEach(([k,v])=>console.log(v.toFixed(0).padStart(7),k));
console.log('--- top functions');
[...self].sort((a,b)=>b[1]-a[1]).slice(0,45).forEach(([k,v])=>console.log(v.toFixed(0).padStart(7),k));
