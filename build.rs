// `sqlx::migrate!` embeds the migration folders at compile time; without this, adding a
// migration would not rebuild the crate (as sqlx's documentation recommends).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
