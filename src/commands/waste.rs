//! `stagescope waste`: the bytes later layers hid in an image (an engine's, or an archive's
//! with no engine) or in a build's stage or state, with dive's CI gates over them.

use std::io::{IsTerminal, Write};

use stagescope_core::session::files::{ImageRef, WasteOpened, labels_of, open_image_ref};
use stagescope_core::session::{Events, Session, SessionError};
use stagescope_fs::archive::Platform;
use stagescope_plan::StageRef;
use stagescope_plan::added_by::{base_layers, map_layers};
use stagescope_report::waste::{Gates, WasteReport, parse_bytes, parse_ratio};

use super::{
    EXIT_FAILED, EXIT_USAGE, backend_for, engine_for, fail, index_progress, interruptible,
    platform_of, prepare, runtime,
};
use crate::cli::{WasteArgs, WasteFormat};

pub(crate) fn waste(args: &WasteArgs) -> u8 {
    let gates = match gates(args) {
        Ok(g) => g,
        Err(code) => return code,
    };
    let platform = match platform_of(args.flags.platform.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let report = match &args.stage {
        Some(stage) => of_stage(args, stage),
        None => of_image(args, platform),
    };
    let report = match report {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match args.format {
        WasteFormat::Json => report.json(&mut out),
        WasteFormat::Text => report.text(args.top, &mut out),
    };
    let _ = written.and_then(|()| out.flush());
    drop(out);
    let failed = gates.check(&report);
    for why in &failed {
        eprintln!("FAIL {why}");
    }
    if !failed.is_empty() {
        return EXIT_FAILED;
    }
    if !gates.is_empty() {
        eprintln!("PASS every rule");
    }
    0
}

/// The rules: a `.dive-ci` file's (its missing keys at dive's defaults), then the flags.
fn gates(args: &WasteArgs) -> Result<Gates, u8> {
    let mut g = match &args.ci_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(EXIT_USAGE, format!("{}: {e}", path.display())))?;
            Gates::from_dive_ci(&text)
                .map_err(|e| fail(EXIT_USAGE, format!("{}: {e}", path.display())))?
        }
        None => Gates::default(),
    };
    let usage = |e| fail(EXIT_USAGE, format!("error: {e}"));
    if let Some(v) = &args.lowest_efficiency {
        g.lowest_efficiency = parse_ratio("--lowest-efficiency", v).map_err(usage)?;
    }
    if let Some(v) = &args.highest_wasted_bytes {
        g.highest_wasted_bytes = parse_bytes("--highest-wasted-bytes", v).map_err(usage)?;
    }
    if let Some(v) = &args.highest_user_wasted_percent {
        g.highest_user_wasted_percent =
            parse_ratio("--highest-user-wasted-percent", v).map_err(usage)?;
    }
    Ok(g)
}

/// `waste IMAGE`: the positional names the image.
fn of_image(args: &WasteArgs, platform: Option<Platform>) -> Result<WasteReport, u8> {
    let name = args.flags.context.to_string_lossy().into_owned();
    if name == "." {
        return Err(fail(
            EXIT_USAGE,
            "name an IMAGE (a name, docker-archive:FILE, oci-layout:DIR[:TAG]), or a build CONTEXT with --stage",
        ));
    }
    let image = ImageRef::parse(&name);
    let show = std::io::stderr().is_terminal();
    runtime().block_on(async {
        let engine = match image.needs_engine() {
            true => Some(engine_for(&args.flags.engine).await?),
            false => None,
        };
        let opened = interruptible(open_image_ref(
            engine.as_ref(),
            &image,
            platform,
            index_progress(show),
        ))
        .await?;
        if show {
            eprint!("\r\x1b[2K");
        }
        let labels: Vec<String> = opened
            .created_by
            .iter()
            .map(|c| c.clone().unwrap_or_default())
            .collect();
        // dive's "user" layers: all but the first, unless told.
        let base = args.base_layers.unwrap_or(1);
        Ok(report(&name, &opened, &labels, base))
    })
}

/// `waste [CONTEXT] --stage S[@N]`: the stage's (or state's) image, built from cache; its
/// layers named by the Dockerfile's instructions, the base image's counted apart.
fn of_stage(args: &WasteArgs, stage: &str) -> Result<WasteReport, u8> {
    let setup = prepare(&args.flags)?;
    let at = StageRef::parse(&setup.plan, stage).map_err(|e| fail(EXIT_USAGE, e))?;
    let show = std::io::stderr().is_terminal();
    runtime().block_on(async {
        let session = Session::new(setup, backend_for(&args.flags).await?);
        let work = async {
            let built = session.build_quietly().await?;
            let image = session.image_of(&built, at, &Events::none()).await?;
            let engine = session.engine()?;
            let opened = open_image_ref(
                Some(engine),
                &ImageRef::Engine(image.clone()),
                None,
                index_progress(show),
            )
            .await?;
            Ok::<_, SessionError>(opened)
        };
        let opened = interruptible(work).await?;
        if show {
            eprint!("\r\x1b[2K");
        }
        let plan = &session.plan;
        let last = plan.stages[at.stage].instructions.len().saturating_sub(1);
        let origins = map_layers(
            plan,
            at.stage,
            at.at.unwrap_or(last),
            &labels_of(&opened.created_by),
        );
        let labels: Vec<String> = origins
            .iter()
            .zip(&opened.created_by)
            .map(|(o, c)| match o {
                Some(o) => format!(
                    "{} #{} (line {}): {}",
                    o.stage, o.instruction, o.line, o.text
                ),
                None => c.clone().unwrap_or_default(),
            })
            .collect();
        // The base image's layers: those below the first the Dockerfile made.
        let base = args.base_layers.unwrap_or_else(|| base_layers(&origins));
        Ok(report(&at.label(plan), &opened, &labels, base))
    })
}

fn report(name: &str, opened: &WasteOpened, labels: &[String], base: usize) -> WasteReport {
    WasteReport::of(name, &opened.waste, Some(&opened.index), labels, base)
}
