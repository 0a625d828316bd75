#![allow(missing_docs, clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]
use std::time::Instant;
use tether_host::{Entropy, Runtime, VirtualClock, Command};
use tether_host::syntax::failure;
use tether_host::NetworkError;
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(100_000);
    let rt = Runtime::new().unwrap();
    let clock = VirtualClock::new();
    let mut inst = rt.instantiate(clock.clone(), Entropy::fixed(1)).unwrap();
    inst.set_max_resources(n + 10);
    let t = Instant::now();
    let mut conns = Vec::new();
    for i in 0..n {
        let cfg = format!(r#"{{"hub":"hub","seed":{},"policy":{{}}}}"#, i * 7919 + 13);
        conns.push(inst.create_connection(&cfg).unwrap().unwrap());
    }
    let per = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("create  {:.2} us", per(t));
    let t = Instant::now();
    for c in &conns { let _ = inst.start(c).unwrap(); }
    println!("start   {:.2} us", per(t));
    let t = Instant::now();
    for c in &conns { let _ = inst.on_opened(c, 1).unwrap(); }
    println!("opened  {:.2} us", per(t));
    let reset = failure::net(NetworkError::Reset);
    let t = Instant::now();
    for c in &conns { let _ = inst.on_closed(c, 1, &reset).unwrap(); }
    println!("closed  {:.2} us", per(t));
    clock.set_ms(10_000_000);
    let t = Instant::now();
    let mut links = Vec::new();
    for c in &conns { let s = inst.on_wake(c).unwrap(); links.push(s.commands.iter().find_map(|c| if let Command::Open{link,..} = c {Some(*link)} else {None}).unwrap()); }
    println!("wake    {:.2} us", per(t));
    let refused = failure::net(NetworkError::Refused);
    let t = Instant::now();
    for (c, l) in conns.iter().zip(&links) { let _ = inst.on_failed(c, *l, &refused).unwrap(); }
    println!("failed  {:.2} us", per(t));
    println!("memory  {} bytes/conn", inst.linear_memory_bytes() / n);
}
