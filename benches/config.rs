//! Load and save of a config with 10,000 connectors through the real `Store` (issue 7,
//! "Config"): parse + validate on load; serialise, fsync and rename on save.
//!
//! `cargo bench --bench config -- --write-config DIR N` writes such a config into DIR
//! instead (the start-up benchmark in bench/run uses it).

mod fixtures;

use criterion::{Criterion, criterion_group};
use ifs_connect::core::store::Store;

fn config(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::new(dir.path());
    let big = fixtures::config(10_000);
    {
        let lock = store.lock().expect("lock");
        store.write(&lock, &big).expect("write");
    }
    let mut group = c.benchmark_group("config");
    group.sample_size(20);
    group.bench_function("load_10000", |b| {
        b.iter(|| store.load().expect("load"));
    });
    // Where load's time goes: the TOML parse alone (no serde mapping onto Config).
    let text = std::fs::read_to_string(store.path()).expect("read");
    group.bench_function("toml_parse_only_10000", |b| {
        b.iter(|| text.parse::<toml::Table>().expect("parse"));
    });
    group.bench_function("save_10000", |b| {
        b.iter(|| {
            let lock = store.lock().expect("lock");
            store.write(&lock, &big).expect("write");
        });
    });
    group.finish();
}

criterion_group!(benches, config);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--write-config") {
        let dir = args.get(at + 1).expect("--write-config DIR N");
        let n: usize = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .expect("--write-config DIR N");
        let store = Store::new(dir);
        let lock = store.lock().expect("lock");
        store.write(&lock, &fixtures::config(n)).expect("write");
        println!("wrote {n} connectors to {}", store.path().display());
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
