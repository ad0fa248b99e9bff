//! One frame of the TUI on ratatui's TestBackend (issue 7, "Rendering"): the list with
//! 10,000 connectors and each of the six wizard steps, at 120x40. Target: under 1 ms.

mod fixtures;

use criterion::{Criterion, criterion_group, criterion_main};
use ifs_connect::tui::bench_support::BenchScreen;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(120, 40)).expect("test terminal")
}

fn render(c: &mut Criterion) {
    let config = fixtures::config(10_000);
    let list = BenchScreen::list(config.clone(), fixtures::now());
    let mut term = terminal();
    c.bench_function("frame/list_10000", |b| {
        b.iter(|| list.draw(&mut term).expect("draw"));
    });
    for step in 1..=6 {
        // An OpenID connector for steps 1-4 and 6; the OAuth2 page is step 4 of an OAuth2 one.
        let editing = config.connectors[if step == 4 { 3 } else { 0 }].clone();
        let wizard = BenchScreen::wizard(config.clone(), editing, step, fixtures::now());
        let mut term = terminal();
        c.bench_function(&format!("frame/wizard_step_{step}"), |b| {
            b.iter(|| wizard.draw(&mut term).expect("draw"));
        });
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
