// The C side of the crossings: what a C handler does when Go calls it.
#include "_cgo_export.h"

int hbbench_c_noop(int x)
{
    return x + 1;
}

int hbbench_c_calls_go(int x)
{
    return GoNoop(x);
}

int hbbench_c_writes_go(int x)
{
    static char body[] = "Hello, world.\n";
    (void)x;
    return GoWrite(body, 14);
}
