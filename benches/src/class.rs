//! Instance classes for summaries and plots, from BPPLIB naming conventions or the directory.

use std::path::Path;

/// The class of an instance: a BPPLIB family recognised from the file name (Falkenauer_U,
/// Falkenauer_T, Scholl_1/2/3, Schwerin_1/2, Waescher, Hard28, AI, ANI), otherwise the name of
/// the directory holding the file (spaces become underscores), otherwise "other".
pub fn class_of(path: &Path) -> String {
    let name = super::instance::instance_name(path);
    let lower = name.to_ascii_lowercase();
    let known = if lower.starts_with("falkenauer_u") {
        Some("Falkenauer_U")
    } else if lower.starts_with("falkenauer_t") {
        Some("Falkenauer_T")
    } else if lower.starts_with("hard28") {
        Some("Hard28")
    } else if lower.starts_with("waescher") || lower.starts_with("wäscher") {
        Some("Waescher")
    } else if lower.starts_with("schwerin1") {
        Some("Schwerin_1")
    } else if lower.starts_with("schwerin2") {
        Some("Schwerin_2")
    } else if lower.contains("_di_") {
        Some("AI")
    } else if lower.contains("_nr_") {
        Some("ANI")
    } else if is_scholl(&name, "C") {
        Some("Scholl_1")
    } else if is_scholl(&name, "B") {
        Some("Scholl_2")
    } else if lower.starts_with("hard") && lower[4..].chars().all(|c| c.is_ascii_digit()) {
        Some("Scholl_3")
    } else {
        None
    };
    if let Some(class) = known {
        return class.to_owned();
    }
    path.parent()
        .and_then(|p| p.file_name())
        .map(|d| d.to_string_lossy().replace(' ', "_"))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "other".to_owned())
}

/// Scholl set 1 names look like `N1C1W1_A`, set 2 like `N1W1B1R0`.
fn is_scholl(name: &str, marker: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 6
        && bytes[0] == b'N'
        && bytes[1].is_ascii_digit()
        && match marker {
            "C" => bytes[2] == b'C',
            _ => bytes[2] == b'W' && name.contains('B') && name.contains('R'),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_bpplib_families() {
        let cases = [
            ("x/Falkenauer U/Falkenauer_u120_00.txt", "Falkenauer_U"),
            ("Falkenauer_t60_01.txt", "Falkenauer_T"),
            ("N1C1W1_A.txt", "Scholl_1"),
            ("N1W1B1R0.txt", "Scholl_2"),
            ("HARD7.txt", "Scholl_3"),
            ("Schwerin2_BPP10.txt", "Schwerin_2"),
            ("Waescher_TEST0005.txt", "Waescher"),
            ("Hard28_BPP13.txt", "Hard28"),
            ("201_2500_DI_3.txt", "AI"),
            ("201_2500_NR_3.txt", "ANI"),
            ("some dir/inst.txt", "some_dir"),
        ];
        for (path, class) in cases {
            assert_eq!(class_of(Path::new(path)), class, "{path}");
        }
    }
}
