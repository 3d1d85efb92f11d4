// bench: title=Start-up: static hello, through ./trapeze
// bench: kind=startup
// bench: runs=30
// bench: via=wrapper
// The same program as hello_static, with Trapeze started as the README says: the ./trapeze script,
// whose up-to-date check then counts.
#include "hello_static.c"
