//! Evidence for the paper's open problem (issue 7): under a saturating TCP SYN
//! background a new sweep is invisible on the paper's fixed scale, and
//! visible in the auto, rank and change views.
//!
//! The scenes are built in the test by driving the counters on the packet
//! clock (no sleeps): a uniform, noisy SYN background on all 65,536 addresses
//! for 60 s, about 330 packets per cell within the 10 s half-life (the paper's
//! scale tops out at 255), plus one sweep (8x the background rate per target)
//! that starts at 45 s. They are drawn through the same renderer as
//! `scanwall snapshot` and judged on the pixels of the image.
//!
//! `SCANWALL_DOCS=docs cargo test --test saturation` also writes the
//! before/after pictures used in the README.

mod support;

use std::sync::Arc;

use scanwall::counting::{Counters, Decay, FrameReader, HalfLife};
use scanwall::display::scales::{FrameScales, scaled_tiles};
use scanwall::maps::{self, MapId};
use scanwall::parse::PacketFacts;
use scanwall::render::{FrameInput, LayoutKind, MapView, RgbaImage, ScaleMode, ViewState, WallRenderer};

const S: u64 = 1_000_000_000;
/// 2021-06-01 00:00:00 UTC.
const START: u64 = 1_622_505_600 * S;
const SECONDS: u64 = 60;
const SWEEP_FROM: u64 = 45;
/// Mean background packets per address per second (min..=max, uniform).
const BACKGROUND: (u32, u32) = (15, 31);
/// Sweep packets per target per second: 8x the background.
const SWEEP: u32 = 184;
const SIZE: (u32, u32) = (1100, 1000);

fn syn(dst: u16) -> PacketFacts {
    PacketFacts {
        dst_low16: dst,
        length: 40,
        port: 22,
        flags: PacketFacts::TCP | PacketFacts::L4_PRESENT | PacketFacts::SYN_ONLY,
    }
}

fn syn_map() -> MapId {
    maps::by_name("syn").expect("the syn map exists")
}

/// A sweep: the targets it hits.
#[derive(Clone, Copy, Debug)]
enum Sweep {
    /// One 3rd octet, every 4th octet: a row of the picture.
    Horizontal(u16),
    /// One 4th octet, every 3rd octet: a column.
    Vertical(u16),
}

impl Sweep {
    fn keys(self) -> Vec<u16> {
        match self {
            Sweep::Horizontal(row) => (0..256).map(|c| row << 8 | c).collect(),
            Sweep::Vertical(col) => (0..256).map(|r| r << 8 | col).collect(),
        }
    }

    /// Cells two rows (or columns) away on both sides: the neighbours the
    /// sweep must stand out from.
    fn neighbours(self) -> Vec<u16> {
        match self {
            Sweep::Horizontal(row) => [row - 2, row + 2]
                .iter()
                .flat_map(|&r| (0..256).map(move |c| r << 8 | c))
                .collect(),
            Sweep::Vertical(col) => [col - 2, col + 2]
                .iter()
                .flat_map(|&c| (0..256).map(move |r| r << 8 | c))
                .collect(),
        }
    }
}

/// Counts the scene: background every second on every address (batched per
/// address and second, at a random moment of it), the sweep from 45 s on.
fn count_scene(sweep: Sweep) -> Arc<Counters> {
    let counters = Counters::with_baseline(
        vec![syn_map()],
        Decay::default(),
        Some(HalfLife::parse("10m").expect("valid")),
    );
    let mut writer = counters.writer();
    let mut rng = fastrand::Rng::with_seed(7);
    let targets = sweep.keys();
    for second in 0..SECONDS {
        let base = START + second * S;
        for key in 0..=u16::MAX {
            // A random moment in the second: no address is systematically later.
            let ts = base + rng.u64(0..S);
            writer.add_repeated(ts, &syn(key), rng.u32(BACKGROUND.0..=BACKGROUND.1));
        }
        if second >= SWEEP_FROM {
            for (i, &key) in targets.iter().enumerate() {
                writer.add_repeated(base + i as u64 * (S / 256), &syn(key), SWEEP);
            }
        }
    }
    counters.release(writer);
    counters
}

/// Renders the counted scene, one map alone, in `scale` / `view`.
struct Scene {
    counters: Arc<Counters>,
    gpu: scanwall::render::Gpu,
    renderer: WallRenderer,
}

impl Scene {
    fn new(sweep: Sweep) -> Scene {
        let gpu = support::gpu();
        let renderer = support::renderer(&gpu);
        Scene {
            counters: count_scene(sweep),
            gpu,
            renderer,
        }
    }

    fn view(scale: ScaleMode, map_view: MapView) -> ViewState {
        ViewState {
            layout: LayoutKind::Single,
            scale,
            map_view,
            ..ViewState::default()
        }
    }

    fn render(&mut self, view: &ViewState) -> RgbaImage {
        let mut reader = FrameReader::new(self.counters.clone(), vec![syn_map()]);
        let frame = reader.read(None);
        let mut scales = FrameScales::default();
        scales.update(
            frame,
            self.counters.half_life(),
            self.counters.baseline(),
            view.scale,
        );
        let input = FrameInput {
            tiles: scaled_tiles(frame, &scales),
            status: support::status(false),
            view: view.clone(),
        };
        self.renderer
            .render_to_image(&self.gpu, &input, SIZE.0, SIZE.1)
            .expect("render")
    }
}

/// The mean colour of `keys`' cells in the picture (row-major order).
fn mean_colour(img: &RgbaImage, view: &ViewState, keys: &[u16]) -> [f64; 3] {
    let arr = view.arrange(1, SIZE.0, SIZE.1);
    let slot = &arr.slots[0];
    let mut sum = [0.0; 3];
    for &key in keys {
        let r = slot.cell_rect(key >> 8, key & 0xff);
        let c = support::rgb(img, r.x + r.w / 2, r.y + r.h / 2);
        for (s, v) in sum.iter_mut().zip(c) {
            *s += f64::from(v);
        }
    }
    sum.map(|s| s / keys.len() as f64)
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
}

/// How far (RGB distance of the mean colours) the sweep stands out from its
/// neighbours in each mode; writes the pictures when `SCANWALL_DOCS` is set.
fn contrasts(sweep: Sweep, name: &str) -> Vec<(&'static str, f64, [f64; 3])> {
    let mut scene = Scene::new(sweep);
    let modes = [
        ("paper", ScaleMode::Paper, MapView::Counts),
        ("auto", ScaleMode::Auto, MapView::Counts),
        ("rank", ScaleMode::Rank, MapView::Counts),
        ("change", ScaleMode::Paper, MapView::Change),
    ];
    let mut out = Vec::new();
    for (label, scale, map_view) in modes {
        let view = Scene::view(scale, map_view);
        let img = scene.render(&view);
        support::save(&img, &format!("saturation-{name}-{label}"));
        if let Some(dir) = std::env::var_os("SCANWALL_DOCS") {
            let path = std::path::Path::new(&dir).join(format!("saturation-{name}-{label}.png"));
            img.write_png(&path).expect("write docs picture");
        }
        let on = mean_colour(&img, &view, &sweep.keys());
        let around = mean_colour(&img, &view, &sweep.neighbours());
        out.push((label, distance(on, around), around));
    }
    out
}

/// A clear margin: about a third of the way across the colour cube's edge.
const STANDS_OUT: f64 = 80.0;
/// Indistinguishable.
const HIDDEN: f64 = 10.0;

fn check(sweep: Sweep, name: &str) {
    let results = contrasts(sweep, name);
    eprintln!("{name}: {results:?}");
    for (label, d, around) in &results {
        match *label {
            "paper" => assert!(
                *d < HIDDEN,
                "{name}: on the paper scale the sweep should drown in the saturated background, \
                 but stands out by {d:.1}"
            ),
            _ => assert!(
                *d > STANDS_OUT,
                "{name}: in {label} the sweep stands out by only {d:.1} (want > {STANDS_OUT}); {results:?}"
            ),
        }
        if *label == "change" {
            // Steady background fades to the neutral colour.
            let neutral = [247.0, 247.0, 247.0];
            assert!(
                distance(*around, neutral) < 40.0,
                "{name}: steady background is not near neutral in the change view: {around:?}"
            );
        }
    }
}

#[test]
fn horizontal_sweep_in_saturated_syn_map() {
    check(Sweep::Horizontal(150), "horizontal");
}

#[test]
fn vertical_sweep_in_saturated_syn_map() {
    check(Sweep::Vertical(77), "vertical");
}
