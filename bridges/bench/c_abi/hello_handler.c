/* The C handler of the c-callback variant (servers/c-callback/main.c,
 * index_handler), compiled as C and calling the ABI through the PLT. */
#include "httpbridge.h"

#include <string.h>

int hello_c_handler(hb_response res, const hb_request *req, void *user_data);

int hello_c_handler(hb_response res, const hb_request *req, void *user_data)
{
    static const char body[] = "Hello, world.\n";
    (void)user_data;
    if (req->path.len != 1 || memcmp(req->path.data, "/", 1) != 0) {
        hb_response_set_status(res, 404);
        return hb_response_write(res, "404 page not found\n", 19);
    }
    hb_response_add_header(res, "Content-Type", 12, "text/plain", 10);
    return hb_response_write(res, body, sizeof body - 1);
}
