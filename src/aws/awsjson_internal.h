/* awsjson_internal.h — the pure part of the AWS JSON client that reads outside input: the
 * error answer's body, exposed for the unit tests and the fuzz targets. */
#ifndef CR_AWSJSON_INTERNAL_H
#define CR_AWSJSON_INTERNAL_H

#include <stddef.h>

#include "aws/awsjson.h"

/* Fills err from an error answer's body body[0..len) (any bytes; need not be JSON): the
 * short __type, message (either case) and the Code of each CancellationReasons entry (at
 * most as many as err->reasons holds; "None" for one without a string Code). err->info
 * reads "<label> <op>: <type>: <message, at most 200 bytes>", or "<label> <op>: HTTP
 * <status> with no error type"; its code is ERR_SERVICE, ERR_NOTFOUND for
 * ResourceNotFoundException, ERR_INVALID for ValidationException and
 * SerializationException. Other members of err are left alone. */
void awsjson_error_parse(const char *label, const char *op, long status, const char *body,
                         size_t len, aws_error *err);

#endif
