//! What a process pays for its first TLS connection before any byte is
//! sent: making the TLS set-up, which is where the system's certificate
//! authorities are read. Conclave's own (`transport::tls`: on Linux the
//! authorities looked up by hash when a chain needs one) beside the old way
//! in the same run (native-tls on OpenSSL, which reads and parses the
//! system's bundle twice).
//!
//! `cargo bench -p conclave-engine --bench tls_setup`

use conclave_engine::transport::tls::TlsSetup;
use criterion::Criterion;

fn main() {
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    let mut group = c.benchmark_group("tls_setup");
    group.bench_function("conclave", |b| {
        b.iter(|| TlsSetup::new(None).expect("a TLS set-up"))
    });
    group.bench_function("native-tls", |b| {
        b.iter(|| {
            native_tls::TlsConnector::builder()
                .build()
                .expect("a TLS set-up")
        })
    });
    group.finish();
    c.final_summary();
}
