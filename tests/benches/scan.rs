//! Benchmarks of the scan pipeline (criterion): a whole AWS scan replayed through the real SDK
//! clients, and the rules over a large inventory. `cargo bench --bench scan`.

use cloudscan::rules;
use cloudscan_inventory::Inventory;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use std::sync::Arc;

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("mocks/aws")
        .join(name)
}

fn replayed_inventory(rt: &tokio::runtime::Runtime, name: &str) -> Inventory {
    let opts = cloudscan_aws::ScanOptions {
        collect: cloudscan_aws::CollectOptions {
            replay: Some(scenario(name)),
            concurrency: 16,
            max_attempts: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let progress: cloudscan_aws::ProgressFn = Arc::new(|_| {});
    rt.block_on(cloudscan_aws::scan(&opts, progress))
        .expect("replay scan")
        .inventory
}

/// `copies` copies of every cluster (and its volumes), renamed, as in an account with many clusters.
fn scaled(base: &Inventory, copies: usize) -> Inventory {
    let mut inv = base.clone();
    inv.clusters.clear();
    inv.volumes.clear();
    for n in 0..copies {
        for c in &base.clusters {
            let mut c = c.clone();
            c.name = format!("{}-{n}", c.name);
            c.id = format!("{}-{n}", c.id);
            for pool in &mut c.node_pools {
                for m in &mut pool.metadata {
                    m.resource = format!("{}-{n}", m.resource);
                }
            }
            inv.clusters.push(c);
        }
        for v in &base.volumes {
            let mut v = v.clone();
            v.id = format!("{}-{n}", v.id);
            inv.volumes.push(v);
        }
    }
    inv
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("aws");
    group.sample_size(20);
    group.bench_function("replay scan of mocks/aws/insecure (SDK + normalize)", |b| {
        b.iter(|| replayed_inventory(&rt, "insecure"))
    });
    group.finish();

    let base = replayed_inventory(&rt, "insecure");
    let large = scaled(&base, 1000);
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(large.clusters.len() as u64));
    group.bench_function("all rules over 3,000 clusters", |b| {
        b.iter(|| rules::evaluate(&large))
    });
    group.finish();

    // Every capability question for an account of 5,000 roles with realistic policies (copies of
    // the scenario's roles: node roles with AWS-managed policies, IRSA roles, an admin role).
    let mut roles = base.clone();
    roles.identities.clear();
    for n in 0..5000 {
        let mut i = base.identities[n % base.identities.len()].clone();
        i.id = format!("{}-{n}", i.id);
        roles.identities.push(i);
    }
    let mut group = c.benchmark_group("access");
    group.sample_size(10);
    group.throughput(Throughput::Elements(roles.identities.len() as u64));
    group.bench_function("every capability question for 5,000 roles", |b| {
        b.iter(|| cloudscan::access::AccessFacts::analyze(&roles, |_| true))
    });
    group.finish();
}

criterion_group!(scan, benches);
criterion_main!(scan);
