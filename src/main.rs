fn main() {
    println!("quiesce");
}
