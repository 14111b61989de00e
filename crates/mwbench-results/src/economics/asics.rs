//! Current bitcoin ASICs, for comparing GPUs with the hardware a site
//! already runs or could buy. Figures are the makers' specifications at
//! the wall (stock mode), never measurements: an option built from them
//! says so.

/// One ASIC model as its maker specifies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Asic {
    pub name: &'static str,
    pub terahashes_per_second: f64,
    pub watts: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

impl Asic {
    /// Joules per terahash, as miners quote efficiency.
    pub fn joules_per_terahash(&self) -> f64 {
        self.watts / self.terahashes_per_second
    }
}

/// The table `--asic NAME` picks from.
pub const ASICS: &[Asic] = &[
    Asic {
        name: "Antminer S21 XP",
        terahashes_per_second: 270.0,
        watts: 3645.0,
        source: "Bitmain spec sheet (2024): 270 TH/s at 13.5 J/TH",
    },
    Asic {
        name: "Antminer S21+ Hydro",
        terahashes_per_second: 319.0,
        watts: 4785.0,
        source: "Bitmain spec sheet (2025): 319 TH/s at 4785 W",
    },
    Asic {
        name: "Antminer S21 Pro",
        terahashes_per_second: 234.0,
        watts: 3510.0,
        source: "Bitmain spec sheet (2024): 234 TH/s at 15 J/TH",
    },
    Asic {
        name: "Antminer S21",
        terahashes_per_second: 200.0,
        watts: 3500.0,
        source: "Bitmain spec sheet (2023): 200 TH/s at 17.5 J/TH",
    },
    Asic {
        name: "WhatsMiner M60S",
        terahashes_per_second: 186.0,
        watts: 3441.0,
        source: "MicroBT spec sheet (2023): 186 TH/s at 18.5 J/TH",
    },
    Asic {
        name: "Avalon A1566",
        terahashes_per_second: 185.0,
        watts: 3420.0,
        source: "Canaan spec sheet (2024): 185 TH/s at 18.5 J/TH",
    },
    Asic {
        name: "Antminer S19j Pro",
        terahashes_per_second: 104.0,
        watts: 3068.0,
        source: "Bitmain spec sheet (2021): 104 TH/s at 29.5 J/TH; much of today's installed fleet",
    },
];

/// The ASIC whose name is `name`, ignoring case, spaces and dashes
/// (`s21-pro`, `Antminer S21 Pro`); an error lists the known ones.
pub fn named(name: &str) -> Result<Asic, String> {
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
            .collect::<String>()
            .to_lowercase()
    };
    let wanted = key(name);
    ASICS
        .iter()
        .find(|a| {
            // The full name, or the model without its maker's name.
            let model = a.name.split_once(' ').map_or(a.name, |(_, model)| model);
            key(a.name) == wanted || key(model) == wanted
        })
        .copied()
        .ok_or_else(|| {
            let known: Vec<&str> = ASICS.iter().map(|a| a.name).collect();
            format!("unknown ASIC '{name}'; known: {}", known.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_loosely_and_unknown_ones_list_the_table() {
        assert_eq!(named("s21-pro").unwrap().name, "Antminer S21 Pro");
        assert_eq!(named("Antminer S21 XP").unwrap().name, "Antminer S21 XP");
        assert_eq!(named("S21").unwrap().name, "Antminer S21");
        assert_eq!(named("s21+ hydro").unwrap().name, "Antminer S21+ Hydro");
        assert_eq!(named("m60s").unwrap().name, "WhatsMiner M60S");
        let error = named("S9").unwrap_err();
        assert!(error.contains("known: Antminer S21 XP"), "{error}");
    }

    #[test]
    fn specs_agree_with_their_sources() {
        // The efficiencies the makers quote.
        let jth = |name| named(name).unwrap().joules_per_terahash();
        assert!((jth("S21 XP") - 13.5).abs() < 0.01);
        assert!((jth("S21 Pro") - 15.0).abs() < 0.01);
        assert!((jth("S21") - 17.5).abs() < 0.01);
        assert!((jth("M60S") - 18.5).abs() < 0.01);
    }
}
