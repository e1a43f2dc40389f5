//! Frame cost of the wall's drawing path on whatever adapter is found (lavapipe
//! on machines without a GPU): upload six 256x256 maps, colour them, draw the
//! wall with text, and wait for it; then the same with the image read back
//! (the readback is extra: the window presents instead).
//!
//! `cargo bench --bench render`; CI only compiles it. Every cell holds a
//! random non-zero value, the most work the colour pass can get. Figures for
//! lavapipe are in README, "Performance".

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scanwall::maps::{CELLS, MAPS, default_shown};
use scanwall::render::{AdapterChoice, FrameInput, Gpu, StatusInfo, TileInput, ViewState, WallRenderer};

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
    let frame = FrameInput {
        tiles,
        status,
        view: ViewState::default(),
    };
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
