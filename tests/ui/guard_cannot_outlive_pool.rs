// A borrowed guard cannot outlive its pool (use `get_owned` for that).
use shardpool::Pool;

fn main() {
    let guard = {
        let pool = Pool::new(|| vec![0u8; 4]);
        pool.get()
    };
    drop(guard);
}
