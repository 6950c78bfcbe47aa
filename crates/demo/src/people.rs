//! Synthetic people, places and vehicles, and the demo personas.

use rand::Rng;
use rand::rngs::StdRng;

/// Hackney's wards (2014 boundaries) with their ONS codes.
pub const WARDS: &[(&str, &str)] = &[
    ("E05009367", "Brownswood"),
    ("E05009368", "Cazenove"),
    ("E05009369", "Clissold"),
    ("E05009370", "Dalston"),
    ("E05009371", "De Beauvoir"),
    ("E05009372", "Hackney Central"),
    ("E05009373", "Hackney Downs"),
    ("E05009374", "Hackney Wick"),
    ("E05009375", "Haggerston"),
    ("E05009376", "Homerton"),
    ("E05009377", "Hoxton East & Shoreditch"),
    ("E05009378", "Hoxton West"),
    ("E05009379", "King's Park"),
    ("E05009380", "Lea Bridge"),
    ("E05009381", "London Fields"),
    ("E05009382", "Shacklewell"),
    ("E05009383", "Springfield"),
    ("E05009384", "Stamford Hill West"),
    ("E05009385", "Stoke Newington"),
    ("E05009386", "Victoria"),
    ("E05009387", "Woodberry Down"),
];

const FIRST: &[&str] = &[
    "Amina", "Ben", "Chloe", "Dev", "Ellie", "Femi", "Grace", "Hasan", "Isla", "Jamal", "Kasia",
    "Leon", "Maya", "Nikhil", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Una", "Viktor",
    "Wen", "Yusuf", "Zara",
];
const LAST: &[&str] = &[
    "Adeyemi", "Brown", "Cohen", "Demir", "Evans", "Fischer", "Green", "Hussain", "Ibrahim",
    "Jones", "Kowalski", "Levy", "Mensah", "Nguyen", "Okafor", "Patel", "Quinn", "Rahman", "Smith",
    "Taylor", "Uddin", "Vasquez", "Williams", "Yilmaz", "Zhang",
];
const STREETS: &[&str] = &[
    "Mare Street",
    "Kingsland Road",
    "Stoke Newington High Street",
    "Dalston Lane",
    "Amhurst Road",
    "Homerton High Street",
    "Lower Clapton Road",
    "Hoxton Street",
    "Well Street",
    "Chatsworth Road",
    "Church Street",
    "Graham Road",
    "Victoria Park Road",
    "Upper Clapton Road",
    "Stamford Hill",
    "Brooke Road",
];
const SECTORS: &[&str] = &[
    "E8 1", "E8 2", "E8 3", "E8 4", "E9 5", "E9 6", "E9 7", "E5 0", "E5 8", "E5 9", "N16 0",
    "N16 5", "N16 6", "N16 7", "N16 8", "N1 5", "N1 6", "N4 2",
];

pub fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

pub fn ward(rng: &mut StdRng) -> (&'static str, &'static str) {
    WARDS[rng.random_range(0..WARDS.len())]
}

pub fn name(rng: &mut StdRng) -> String {
    format!("{} {}", pick(rng, FIRST), pick(rng, LAST))
}

pub fn street(rng: &mut StdRng) -> &'static str {
    STREETS[rng.random_range(0..STREETS.len())]
}

/// A postcode such as `E8 1DY`.
pub fn postcode(rng: &mut StdRng) -> String {
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    format!(
        "{}{}{}",
        pick(rng, SECTORS),
        letters[rng.random_range(0..letters.len())] as char,
        letters[rng.random_range(0..letters.len())] as char
    )
}

/// A current-style UK registration such as `LK21 ABX`.
pub fn vrm(rng: &mut StdRng) -> String {
    let letters = b"ABCDEFGHJKLMNOPRSTUVWXYZ";
    let mut l = || letters[rng.random_range(0..letters.len())] as char;
    let (a, b) = (l(), l());
    let (c, d, e) = (l(), l(), l());
    format!("{a}{b}{:02} {c}{d}{e}", rng.random_range(10..25))
}

/// A 12-digit UPRN in Hackney's range.
pub fn uprn(rng: &mut StdRng) -> i64 {
    100_021_000_000 + rng.random_range(0..900_000)
}

/// A demo identity: who they are and what their token says.
#[derive(Debug, Clone)]
pub struct Persona {
    pub subject: &'static str,
    pub description: &'static str,
    pub departments: Vec<&'static str>,
    pub groups: Vec<&'static str>,
    pub attributes: Vec<(&'static str, Vec<&'static str>)>,
}

/// The demo personas.
pub fn personas() -> Vec<Persona> {
    vec![
        Persona {
            subject: "pat.parking",
            description: "parking analyst: Hackney Central tickets only, plates masked",
            departments: vec!["parking"],
            groups: vec!["analyst", "operational", "parking-analyst"],
            attributes: vec![("wards", vec!["E05009372"])],
        },
        Persona {
            subject: "morgan.manager",
            description: "parking manager: every ward, plates masked",
            departments: vec!["parking"],
            groups: vec!["analyst", "operational", "parking-manager"],
            attributes: vec![],
        },
        Persona {
            subject: "hana.housing",
            description: "housing officer: north and central teams, names redacted, birth dates to the year",
            departments: vec!["housing"],
            groups: vec!["analyst", "operational", "housing-officer"],
            attributes: vec![("teams", vec!["north", "central"])],
        },
        Persona {
            subject: "sam.safeguarding",
            description: "safeguarding officer: every tenancy, safeguarding cases included",
            departments: vec!["housing"],
            groups: vec!["analyst", "operational", "safeguarding"],
            attributes: vec![],
        },
        Persona {
            subject: "dee.engineer",
            description: "data engineer: every zone of every department, safeguarding cases hidden",
            departments: vec!["parking", "housing", "revenues", "unrestricted"],
            groups: vec!["engineer"],
            attributes: vec![],
        },
        Persona {
            subject: "max.public",
            description: "member of the public: unrestricted data only",
            departments: vec![],
            groups: vec![],
            attributes: vec![],
        },
    ]
}
