//! Frame cost of the wall's drawing path on whatever adapter is found (lavapipe
//! on machines without a GPU): upload six 256x256 maps, colour them, draw the
//! wall with text, and wait for it; then the same with the image read back
//! (the readback is extra: the window presents instead).
//!
//! First, where the adapter has GPU timestamps, a table of per-frame times
//! taken frame by frame (not by criterion): the GPU's own time for the
//! upload and draw (timestamps written before and after them), the CPU time
//! of the call that encodes and submits them, and the wall time until the
//! frame is done; then frames submitted back to back with one wait at the
//! end, which is what a window that never waits gets. In both tables the
//! status line's numbers change every frame (the window's change about once
//! a second, so this is its worst case), so that line is shaped and its layer
//! of text prepared each frame; the labels' text is kept.
//!
//! Then the wall's whole CPU path per frame, as the window runs it: read six
//! decayed maps from two capture threads' shards (filled with demo traffic),
//! compute their paper-scale numbers, then encode and submit the frame (the
//! GPU idle at the start of each, as in the table above). Each size twice:
//! with the status line kept, as in most of the window's frames, and with
//! its numbers changing every frame, the worst case.
//!
//! `cargo bench --bench render`. CI runs it as a smoke test (`cargo test
//! --bench '*'`: each criterion benchmark once, and the tables over a few
//! frames). Every cell holds a random non-zero value, the most work the
//! colour pass can get. Figures for lavapipe and an NVIDIA H200 are in
//! docs/performance.md.

mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use scanwall::counting::{Decay, FrameReader};
use scanwall::display::scales::{FrameScales, scaled_tiles};
use scanwall::maps::{CELLS, MAPS, default_shown};
use scanwall::render::{
    AdapterChoice, EventMark, EventOverlay, FrameInput, Gpu, ScaleMode, StatusInfo, TIMESTAMPS, TileInput,
    ViewState, WallRenderer,
};

/// Frames timed one by one, per size, for the table.
const TIMED_FRAMES: usize = 60;
/// The same in a smoke test.
const SMOKE_FRAMES: usize = 3;
/// Frames to time per size, one by one and then back to back: a few when run
/// as a test (`cargo bench` passes `--bench`).
fn timed_frames() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        TIMED_FRAMES
    } else {
        SMOKE_FRAMES
    }
}

/// A `w` x `h` target texture of `usage` (besides being drawn into).
fn target(gpu: &Gpu, w: u32, h: u32, usage: wgpu::TextureUsages) -> wgpu::TextureView {
    let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("bench target"),
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | usage,
        view_formats: &[],
    });
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}

/// Waits until the GPU has done everything submitted so far.
fn wait(gpu: &Gpu) {
    // A lost device shows as absurd times in the table; nothing to recover.
    drop(gpu.device.poll(wgpu::PollType::Wait {
        submission_index: None,
        timeout: None,
    }));
}

/// Milliseconds between two timestamps written on the GPU around each frame.
struct GpuClock {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readable: wgpu::Buffer,
    ns_per_tick: f64,
}

impl GpuClock {
    fn new(gpu: &Gpu) -> Self {
        let buffer = |label, usage| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage,
                mapped_at_creation: false,
            })
        };
        GpuClock {
            queries: gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("frame timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolved: buffer(
                "resolved timestamps",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readable: buffer(
                "read timestamps",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            ns_per_tick: f64::from(gpu.queue.get_timestamp_period()),
        }
    }

    /// Submits a command buffer that writes timestamp `index` (and, for the
    /// last, copies both where they can be read).
    fn stamp(&self, gpu: &Gpu, index: u32) {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("timestamp"),
            });
        encoder.write_timestamp(&self.queries, index);
        if index == 1 {
            encoder.resolve_query_set(&self.queries, 0..2, &self.resolved, 0);
            encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readable, 0, 16);
        }
        gpu.queue.submit(Some(encoder.finish()));
    }

    /// The milliseconds between the two stamps (after [`wait`]), or `None`
    /// when they could not be read.
    fn read_ms(&self, gpu: &Gpu) -> Option<f64> {
        let slice = self.readable.slice(..);
        slice.map_async(wgpu::MapMode::Read, |_| ());
        wait(gpu);
        let ticks: [u64; 2] = match slice.get_mapped_range() {
            Ok(bytes) => bytemuck::pod_read_unaligned(bytes.get(..16)?),
            Err(_) => return None,
        };
        self.readable.unmap();
        Some(ticks[1].saturating_sub(ticks[0]) as f64 * self.ns_per_tick / 1e6)
    }
}

/// The status line of frame `i`: its rate and frame rate change every frame
/// (the window's worst case), so that its text is prepared again each time.
fn next_status(status: &mut StatusInfo, i: usize) {
    status.packets_per_sec = 31_000.0 + (i % 97) as f64 * 13.0;
    status.frames_per_sec = 55.0 + (i % 7) as f64;
}

/// Median and 95th percentile of `ms`, as table cells.
fn spread(ms: &mut [f64]) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!("{:8.3} {:8.3}", at(0.5), at(0.95))
}

/// The per-frame table (see the module comment), on a device with timestamps.
fn frame_times(frame: &mut FrameInput<'_>) {
    let Ok(gpu) = Gpu::headless_with_timestamps(AdapterChoice::from_env()) else {
        return;
    };
    if !gpu.device.features().contains(TIMESTAMPS) {
        println!("{}: no GPU timestamps, per-frame table skipped", gpu.describe());
        return;
    }
    let mut renderer = WallRenderer::new(&gpu, wgpu::TextureFormat::Rgba8Unorm);
    let clock = GpuClock::new(&gpu);
    println!(
        "per-frame times on {}, ms (median, 95th percentile of {} frames)",
        gpu.describe(),
        timed_frames()
    );
    println!(
        "{:<10} {:>17} {:>17} {:>17} {:>14}",
        "size", "GPU upload+draw", "CPU encode+submit", "wall until done", "back to back"
    );
    for (w, h) in [(1920, 1080), (3840, 2160)] {
        // A surface without copies, as a window on a GPU gets.
        let view = target(&gpu, w, h, wgpu::TextureUsages::empty());
        let (mut on_gpu, mut on_cpu, mut until_done) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..timed_frames() + 5 {
            wait(&gpu);
            clock.stamp(&gpu, 0);
            let start = Instant::now();
            next_status(&mut frame.status, i);
            let drawn = renderer.render(&gpu, frame, &view, w, h);
            let submitted = start.elapsed();
            clock.stamp(&gpu, 1);
            let ms = clock.read_ms(&gpu);
            let done = start.elapsed();
            let (Ok(()), Some(ms)) = (&drawn, ms) else {
                println!("{w}x{h}: drawing or reading the timestamps failed: {drawn:?}");
                return;
            };
            // The first frames build pipelines and fill caches.
            if i >= 5 {
                on_gpu.push(ms);
                on_cpu.push(submitted.as_secs_f64() * 1e3);
                until_done.push(done.as_secs_f64() * 1e3);
            }
        }
        wait(&gpu);
        let start = Instant::now();
        let pipelined = timed_frames() as u32;
        for i in 0..pipelined {
            next_status(&mut frame.status, i as usize);
            black_box(renderer.render(&gpu, frame, &view, w, h).is_ok());
        }
        wait(&gpu);
        let back_to_back = start.elapsed().as_secs_f64() * 1e3 / f64::from(pipelined);
        println!(
            "{:<10} {} {} {} {:14.3}",
            format!("{w}x{h}"),
            spread(&mut on_gpu),
            spread(&mut on_cpu),
            spread(&mut until_done),
            back_to_back
        );
    }
}

/// The whole CPU path per frame (see the module comment), timed frame by frame.
fn whole_path_times(gpu: &Gpu) {
    let counters = support::two_thread_counters(&support::capture());
    let mut reader = FrameReader::new(counters.clone(), default_shown());
    let mut scales = FrameScales::default();
    let mut renderer = WallRenderer::new(gpu, wgpu::TextureFormat::Rgba8Unorm);
    let mut status = StatusInfo {
        source: "bench".into(),
        half_life: "10s".into(),
        ..StatusInfo::default()
    };
    println!(
        "whole frame path on {}: six maps read from two shards, paper scale, CPU ms (median, 95th percentile of {} frames)",
        gpu.describe(),
        timed_frames()
    );
    println!(
        "{:<10} {:<8} {:>17} {:>17} {:>17}",
        "size", "status", "read + scale", "encode + submit", "CPU per frame"
    );
    // The window's status line changes about once a second, so most of its
    // frames keep all their text ("kept"); "changing" is every frame's worst.
    let sizes = [(1920, 1080), (3840, 2160)];
    for ((w, h), changing) in sizes.into_iter().flat_map(|size| [(size, false), (size, true)]) {
        let view = target(gpu, w, h, wgpu::TextureUsages::empty());
        let (mut read, mut draw, mut whole) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..timed_frames() + 5 {
            wait(gpu);
            let start = Instant::now();
            let frame = reader.read(None);
            scales.update(frame, Decay::default().half_life, None, ScaleMode::Paper);
            let scaled = start.elapsed();
            if changing {
                next_status(&mut status, i);
            }
            let input = FrameInput {
                tiles: scaled_tiles(frame, &scales),
                status: status.clone(),
                view: ViewState::default(),
            };
            if let Err(e) = renderer.render(gpu, &input, &view, w, h) {
                println!("{w}x{h}: drawing failed: {e}");
                return;
            }
            let done = start.elapsed();
            if i >= 5 {
                read.push(scaled.as_secs_f64() * 1e3);
                draw.push((done - scaled).as_secs_f64() * 1e3);
                whole.push(done.as_secs_f64() * 1e3);
            }
        }
        println!(
            "{:<10} {:<8} {} {} {}",
            format!("{w}x{h}"),
            if changing { "changing" } else { "kept" },
            spread(&mut read),
            spread(&mut draw),
            spread(&mut whole)
        );
    }
}

fn frame_cost(c: &mut Criterion) {
    let Ok(gpu) = Gpu::headless(AdapterChoice::from_env()) else {
        eprintln!("no GPU adapter (install mesa-vulkan-drivers): render benchmark skipped");
        return;
    };
    eprintln!("adapter: {}", gpu.describe());
    let mut renderer = WallRenderer::new(&gpu, wgpu::TextureFormat::Rgba8Unorm);
    let mut rng = fastrand::Rng::with_seed(5);
    let values: Vec<Vec<f32>> = default_shown()
        .iter()
        .map(|_| (0..CELLS).map(|_| rng.f32() * 300.0).collect())
        .collect();
    let tiles: Vec<TileInput<'_>> = default_shown()
        .iter()
        .zip(&values)
        .map(|(&m, v)| TileInput {
            def: &MAPS[m],
            values: v,
            rate_pps: 12_345.0,
            baseline: None,
            scale: None,
        })
        .collect();
    let status = StatusInfo {
        source: "bench".into(),
        half_life: "10s".into(),
        ..StatusInfo::default()
    };
    let mut frame = FrameInput {
        tiles,
        status,
        view: ViewState::default(),
    };
    // A fixed number of 1080p frames and nothing else, for counting the
    // instructions a frame takes under valgrind (this VM's timings move by
    // a quarter from run to run; instruction counts do not):
    //   RENDER_FRAMES=N LP_NUM_THREADS=0 valgrind --tool=cachegrind ... BENCH --bench
    // run with two values of N; the difference over the frames between is
    // what a frame costs.
    if let Some(n) = std::env::var("RENDER_FRAMES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
    {
        let view = target(&gpu, 1920, 1080, wgpu::TextureUsages::empty());
        for _ in 0..n {
            let drawn = renderer.render(&gpu, &frame, &view, 1920, 1080);
            let done = gpu.device.poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            });
            black_box((drawn.is_ok(), done.is_ok()));
        }
        return;
    }
    frame_times(&mut frame);
    whole_path_times(&gpu);
    let mut draw = |name: String, view: &wgpu::TextureView, w: u32, h: u32| {
        c.bench_function(&name, |b| {
            b.iter(|| {
                let drawn = renderer.render(&gpu, &frame, view, w, h);
                let done = gpu.device.poll(wgpu::PollType::Wait {
                    submission_index: None,
                    timeout: None,
                });
                black_box((drawn.is_ok(), done.is_ok()))
            })
        });
    };
    for (w, h) in [(1920, 1080), (3840, 2160)] {
        // What the window does each frame on a software adapter: upload,
        // colour, draw into a surface that takes copies (maps at one pixel
        // per cell are copied into place), and wait until lavapipe is done.
        let view = target(&gpu, w, h, wgpu::TextureUsages::COPY_DST);
        draw(
            format!("draw six maps {w}x{h} (upload + draw, waited for)"),
            &view,
            w,
            h,
        );
        if w == 1920 {
            // A surface without copies (the window on a GPU): every map drawn.
            let view = target(&gpu, w, h, wgpu::TextureUsages::empty());
            draw(
                format!("draw six maps {w}x{h} without copies (upload + draw, waited for)"),
                &view,
                w,
                h,
            );
        }
    }
    // The same 1080p frame with scan events: three outlined and labelled on
    // each map (the most the wall draws), and with the event list open.
    let mut marked = frame.clone();
    marked.view.events = EventOverlay {
        marks: (0..6)
            .flat_map(|tile| {
                (0..3u8).map(move |i| EventMark {
                    tile,
                    rows: (40 * i + 10, 40 * i + 10 + i),
                    columns: (0, 255),
                    label: format!(
                        "10.20.{}.0/24 swept - 1.2k pkt/s - 198.51.100.77 +3 - 40 s",
                        40 * i + 10
                    ),
                })
            })
            .collect(),
        list: None,
    };
    let view = target(&gpu, 1920, 1080, wgpu::TextureUsages::COPY_DST);
    for (name, list) in [
        ("18 scan events outlined", false),
        ("18 scan events and the list", true),
    ] {
        marked.view.events.list = list.then(|| {
            (0..60)
                .map(|i| format!("LIVE  00:00:{i:02}  10.20.{i}.0/24 swept - TCP SYN - 300 pkt/s - 198.51.100.{i} - 9 s"))
                .collect()
        });
        c.bench_function(
            &format!("draw six maps 1920x1080 with {name} (upload + draw, waited for)"),
            |b| {
                b.iter(|| {
                    let drawn = renderer.render(&gpu, &marked, &view, 1920, 1080);
                    let done = gpu.device.poll(wgpu::PollType::Wait {
                        submission_index: None,
                        timeout: None,
                    });
                    black_box((drawn.is_ok(), done.is_ok()))
                })
            },
        );
    }
    for (w, h) in [(1920, 1080), (3840, 2160)] {
        c.bench_function(
            &format!("render six maps {w}x{h} (upload + draw + readback)"),
            |b| b.iter(|| black_box(renderer.render_to_image(&gpu, &frame, w, h).map(|i| i.width))),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = frame_cost
}
criterion_main!(benches);
