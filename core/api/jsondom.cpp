#include "api/jsondom.h"

namespace tollgate::api {

simdjson::dom::parser &threadJsonParser()
{
    thread_local simdjson::dom::parser parser;
    return parser;
}

} // namespace tollgate::api
