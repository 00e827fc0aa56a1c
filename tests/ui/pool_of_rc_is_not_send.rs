// A pool of a non-`Send` type cannot be sent or shared: it cannot even be named.
use shardpool::Pool;
use std::rc::Rc;

fn assert_send<T: Send>() {}

fn main() {
    assert_send::<Pool<Rc<u8>>>();
}
