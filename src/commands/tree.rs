//! `stagescope tree`: the files of a stage, of the state after one of its instructions, or
//! of any image, as text or JSON lines with the instruction that added each.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use stagescope_core::engine::Engine;
use stagescope_core::engine::clean as engine_clean;
use stagescope_core::session::Setup;
use stagescope_core::session::files::{
    ImageRef, labels_of, layer_labels, open_archive, open_files,
};
use stagescope_core::session::{Events, Session, run_until};
use stagescope_fs::FsIndex;
use stagescope_fs::archive::Source;
use stagescope_fs::layers::ImageLayers;
use stagescope_plan::StageRef;
use stagescope_plan::added_by::map_layers;
use stagescope_report as report;

use super::{
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, backend_for, engine_for, error_line, fail,
    index_progress, interrupted, platform_of, prepare, runtime,
};
use crate::cli::TreeArgs;

pub(crate) fn tree(args: &TreeArgs) -> u8 {
    if let Some(ImageRef::Archive(source)) = args.image.as_deref().map(ImageRef::parse) {
        return tree_of_archive(args, source);
    }
    let (setup, at) = match what_to_open(args) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let show_progress = std::io::stderr().is_terminal();
    runtime().block_on(async {
        // A stage is built where the flags say; an image by name is the engine's.
        let session = match setup {
            Some(s) => match backend_for(&args.flags).await {
                Ok(b) => Some(Session::new(s, b)),
                Err(code) => return code,
            },
            None => None,
        };
        let engine = match &session {
            Some(s) => s.engine().ok().cloned(),
            None => match engine_for(&args.flags.engine).await {
                Ok(e) => Some(e),
                Err(code) => return code,
            },
        };
        let work = open_index(args, session.as_ref(), engine.as_ref(), at, show_progress);
        // Containers whose guard was dropped mid-export are removed before exiting, and an
        // interrupted build's images with them (a finished build's stay: they are the cache
        // that makes the next open instant; `stagescope clean` removes them).
        let outcome = run_until(work, interrupted()).await;
        if let (None, Some(s), Some(engine)) = (&outcome, &session, &engine) {
            let _ = engine_clean::clean(engine, Some(&s.build_id)).await;
        }
        if show_progress {
            eprintln!();
        }
        match outcome {
            None => fail(EXIT_INTERRUPTED, "interrupted"),
            Some(Err(e)) => fail(EXIT_FAILED, e),
            Some(Ok((ix, layers))) => {
                write_tree(args, session.as_ref(), at, &ix, layers.as_deref());
                0
            }
        }
    })
}

/// `tree --image docker-archive:FILE|oci-layout:DIR[:TAG]`: no engine; the layers' history
/// lines say which added each file.
fn tree_of_archive(args: &TreeArgs, source: Source) -> u8 {
    let platform = match platform_of(args.flags.platform.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let show_progress = std::io::stderr().is_terminal();
    let progress = index_progress(show_progress);
    let opened = runtime().block_on(async {
        run_until(open_archive(source, platform, progress), interrupted()).await
    });
    if show_progress {
        eprintln!();
    }
    match opened {
        None => fail(EXIT_INTERRUPTED, "interrupted"),
        Some(Err(e)) => fail(EXIT_FAILED, format!("error: {e}")),
        Some(Ok(o)) => {
            let layers = labels_of(&o.created_by);
            write_tree(args, None, None, &o.index, Some(&layers));
            0
        }
    }
}

/// The stage (and `--at` instruction) to open, checked against the plan before anything
/// is built; no stage: `--image`.
fn what_to_open(args: &TreeArgs) -> Result<(Option<Setup>, Option<StageRef>), u8> {
    let Some(name) = &args.stage else {
        return Ok((None, None));
    };
    let p = prepare(&args.flags)?;
    let r = StageRef::parse(&p.plan, name).map_err(|e| fail(EXIT_USAGE, e))?;
    let r = StageRef {
        stage: r.stage,
        at: args.at.or(r.at),
    };
    let n = p.plan.stages[r.stage].instructions.len();
    if let Some(k) = r.at
        && k >= n
    {
        return Err(fail(
            EXIT_USAGE,
            format!(
                "--at {k}: stage {} has instructions 0 to {}",
                p.plan.stages[r.stage].display_name(),
                n - 1
            ),
        ));
    }
    Ok((Some(p), Some(r)))
}

/// The image (built first when it is a stage's), indexed, with its layers when `--json`
/// wants each file's instruction.
async fn open_index(
    args: &TreeArgs,
    session: Option<&Session>,
    engine: Option<&Engine>,
    at: Option<StageRef>,
    show_progress: bool,
) -> Result<(FsIndex, Option<Arc<ImageLayers>>), String> {
    let image = match (&args.image, session, at) {
        (Some(image), _, _) => image.clone(),
        (None, Some(s), Some(r)) => {
            if show_progress {
                eprintln!(
                    "building stage {} (from cache when possible)…",
                    s.plan.stages[r.stage].display_name()
                );
            }
            let built = s.build_quietly().await.map_err(error_line)?;
            s.image_of(&built, r, &Events::none())
                .await
                .map_err(error_line)?
        }
        _ => return Err("error: nothing to open".to_string()),
    };
    let progress = index_progress(show_progress);
    let opened = match (session, engine) {
        (Some(s), _) => s.open_files(&image, progress).await,
        (None, Some(e)) => open_files(e, &image, progress).await,
        (None, None) => return Err("error: no engine".to_string()),
    }
    .map_err(|e| format!("error: {e}"))?;
    let ix = Arc::unwrap_or_clone(opened.index);
    // Attribution reads the image's layers (only for --json): an engine's.
    let layers = match (engine, args.json) {
        (Some(e), true) => match layer_labels(e, &image).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("note: no added_by: {e}");
                None
            }
        },
        (None, true) => {
            eprintln!("note: no added_by: a BuildKit's tar export has no layers");
            None
        }
        _ => None,
    };
    Ok((ix, layers))
}

/// The listing on stdout: text, or JSON lines with the instruction that added each file
/// (and the last that changed it) when the layers and the build are known.
fn write_tree(
    args: &TreeArgs,
    session: Option<&Session>,
    at: Option<StageRef>,
    ix: &FsIndex,
    layers: Option<&ImageLayers>,
) {
    let attribution = layers.map(|l| (l.attribute_created(ix), l.attribute(ix)));
    // Layers map to instructions only when the build is known (not for --image).
    let origins = match (session, at, layers) {
        (Some(s), Some(r), Some(l)) => {
            let last = s.plan.stages[r.stage].instructions.len().saturating_sub(1);
            map_layers(&s.plan, r.stage, r.at.unwrap_or(last), l)
        }
        _ => Vec::new(),
    };
    let by = |l: &ImageLayers, a: &[Option<u16>], id| {
        let (layer, history) = l.describe(a, id)?;
        let origin = origins.get(usize::from(layer)).cloned().flatten();
        Some(report::tree::AddedBy {
            stage: origin.as_ref().map(|o| o.stage.clone()),
            instruction: origin.as_ref().map(|o| o.instruction),
            line: origin.as_ref().map(|o| o.line),
            layer,
            text: origin.map_or(history, |o| o.text),
        })
    };
    let added_by = |id| match (layers, &attribution) {
        (Some(l), Some((made, last))) => {
            let added_by = by(l, made, id);
            let last = by(l, last, id);
            report::tree::Attributed {
                last_changed_by: last
                    .filter(|b| Some(b.layer) != added_by.as_ref().map(|a| a.layer)),
                added_by,
            }
        }
        _ => report::tree::Attributed::default(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if args.json {
        report::tree::json_lines(ix, args.depth, &added_by, &mut out)
    } else {
        report::tree::text(ix, args.depth, &mut out)
    };
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = written.and_then(|()| out.flush());
}
