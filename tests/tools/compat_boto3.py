#!/usr/bin/env python3
"""compat_boto3.py — the original bootcamp's boto3 code (backend-flask/lib/ddb.py), for the
compatibility test (tests/live/live_compat.c): items cruddur writes must read correctly here,
and items written here must be listed by `cruddur ddb`.

Usage:
  compat_boto3.py write TABLE MY_UUID MY_NAME MY_HANDLE OTHER_UUID OTHER_NAME OTHER_HANDLE MSG...
      create_message_group with the first MSG (BatchWriteItem of both group rows and the
      message, as ddb.py did), then create_message (PutItem) for each further MSG. Prints
      {"message_group_uuid": ..., "messages": [{"uuid", "created_at", "message"}...]}.
  compat_boto3.py read TABLE GROUP_UUID MY_UUID
      Checks that every item of the group's conversation and of MY_UUID's group rows has
      exactly the original attribute names, each of type S (client and resource API), then
      runs list_messages and list_message_groups as ddb.py did. Prints
      {"messages": [...oldest first], "message_groups": [...newest first]}.
  compat_boto3.py schema-check SRCDIR
      ddb-schema/cloudformation.yaml declares the table of ddb-schema/cruddur-messages.json.

One deliberate difference from ddb.py: the queries use `pk = :pk` alone, without its
`begins_with(sk, :year)`, which lost every conversation older than the current year.
Talks only to AWS_ENDPOINT_URL, which must be on 127.0.0.1 / localhost.
Exit status: 0 ok, 1 a check failed (reason on stderr), 2 usage.
"""

import json
import os
import sys
import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse

MESSAGE_ATTRS = {"pk", "sk", "message", "message_uuid", "user_uuid", "user_display_name",
                 "user_handle"}
GROUP_ATTRS = {"pk", "sk", "message_group_uuid", "message", "user_uuid", "user_display_name",
               "user_handle"}


def fail(msg):
    print(f"compat_boto3: {msg}", file=sys.stderr)
    sys.exit(1)


def endpoint():
    url = os.environ.get("AWS_ENDPOINT_URL", "")
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        print(f"compat_boto3: AWS_ENDPOINT_URL must be a local endpoint, not {url!r}",
              file=sys.stderr)
        sys.exit(2)
    return url


def client():
    import boto3
    return boto3.client("dynamodb", endpoint_url=endpoint(),
                        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def now_iso():
    # ddb.py: datetime.now(timezone.utc).astimezone().isoformat(); astimezone() turns it into
    # the machine's zone, so on a machine not on UTC the offset would not be +00:00. The tests
    # run with TZ=UTC, where this is the same string.
    return datetime.now(timezone.utc).astimezone().isoformat()


# ---- ddb.py, as the bootcamp wrote it (the table name is a parameter here) ----------------

def create_message_group(client, table_name, message, my_user_uuid, my_user_display_name,
                         my_user_handle, other_user_uuid, other_user_display_name,
                         other_user_handle):
    message_group_uuid = str(uuid.uuid4())
    message_uuid = str(uuid.uuid4())
    now = now_iso()
    last_message_at = now
    created_at = now
    my_message_group = {
        'pk': {'S': f"GRP#{my_user_uuid}"},
        'sk': {'S': last_message_at},
        'message_group_uuid': {'S': message_group_uuid},
        'message': {'S': message},
        'user_uuid': {'S': other_user_uuid},
        'user_display_name': {'S': other_user_display_name},
        'user_handle': {'S': other_user_handle}
    }
    other_message_group = {
        'pk': {'S': f"GRP#{other_user_uuid}"},
        'sk': {'S': last_message_at},
        'message_group_uuid': {'S': message_group_uuid},
        'message': {'S': message},
        'user_uuid': {'S': my_user_uuid},
        'user_display_name': {'S': my_user_display_name},
        'user_handle': {'S': my_user_handle}
    }
    record = {
        'pk': {'S': f"MSG#{message_group_uuid}"},
        'sk': {'S': created_at},
        'message': {'S': message},
        'message_uuid': {'S': message_uuid},
        'user_uuid': {'S': my_user_uuid},
        'user_display_name': {'S': my_user_display_name},
        'user_handle': {'S': my_user_handle}
    }
    items = {
        table_name: [
            {'PutRequest': {'Item': my_message_group}},
            {'PutRequest': {'Item': other_message_group}},
            {'PutRequest': {'Item': record}}
        ]
    }
    response = client.batch_write_item(RequestItems=items)
    if response.get('UnprocessedItems'):
        fail(f"create_message_group: unprocessed items {response['UnprocessedItems']}")
    return {'message_group_uuid': message_group_uuid, 'uuid': message_uuid,
            'created_at': created_at}


def create_message(client, table_name, message_group_uuid, message, my_user_uuid,
                   my_user_display_name, my_user_handle):
    created_at = now_iso()
    message_uuid = str(uuid.uuid4())
    record = {
        'pk': {'S': f"MSG#{message_group_uuid}"},
        'sk': {'S': created_at},
        'message': {'S': message},
        'message_uuid': {'S': message_uuid},
        'user_uuid': {'S': my_user_uuid},
        'user_display_name': {'S': my_user_display_name},
        'user_handle': {'S': my_user_handle}
    }
    client.put_item(TableName=table_name, Item=record)
    return {'message_group_uuid': message_group_uuid, 'uuid': message_uuid,
            'display_name': my_user_display_name, 'handle': my_user_handle,
            'message': message, 'created_at': created_at}


def list_message_groups(client, table_name, my_user_uuid):
    query_params = {
        'TableName': table_name,
        'KeyConditionExpression': 'pk = :pk',
        'ScanIndexForward': False,
        'Limit': 20,
        'ExpressionAttributeValues': {':pk': {'S': f"GRP#{my_user_uuid}"}}
    }
    response = client.query(**query_params)
    results = []
    for item in response['Items']:
        last_sent_at = item['sk']['S']
        results.append({
            'uuid': item['message_group_uuid']['S'],
            'display_name': item['user_display_name']['S'],
            'handle': item['user_handle']['S'],
            'message': item['message']['S'],
            'created_at': last_sent_at
        })
    return results


def list_messages(client, table_name, message_group_uuid):
    query_params = {
        'TableName': table_name,
        'KeyConditionExpression': 'pk = :pk',
        'ScanIndexForward': False,
        'Limit': 20,
        'ExpressionAttributeValues': {':pk': {'S': f"MSG#{message_group_uuid}"}}
    }
    response = client.query(**query_params)
    items = response['Items']
    items.reverse()
    results = []
    for item in items:
        created_at = item['sk']['S']
        results.append({
            'uuid': item['message_uuid']['S'],
            'display_name': item['user_display_name']['S'],
            'handle': item['user_handle']['S'],
            'message': item['message']['S'],
            'created_at': created_at
        })
    return results


# ---- checks ---------------------------------------------------------------------------------

def all_items(c, table, pk):
    items, start = [], None
    while True:
        args = {'TableName': table, 'KeyConditionExpression': 'pk = :pk',
                'ExpressionAttributeValues': {':pk': {'S': pk}}}
        if start:
            args['ExclusiveStartKey'] = start
        r = c.query(**args)
        items += r['Items']
        start = r.get('LastEvaluatedKey')
        if not start:
            return items


def check_shape(items, names, what):
    for it in items:
        if set(it) != names:
            fail(f"{what}: attributes {sorted(it)} != {sorted(names)}")
        for k, v in it.items():
            if list(v) != ['S'] or not isinstance(v['S'], str):
                fail(f"{what}: attribute {k} is {v!r}, not a string (S)")


def check_resource(table, pk, names, what):
    import boto3
    from boto3.dynamodb.conditions import Key
    res = boto3.resource("dynamodb", endpoint_url=endpoint(),
                         region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    items = res.Table(table).query(KeyConditionExpression=Key('pk').eq(pk))['Items']
    for it in items:
        if set(it) != names or not all(isinstance(v, str) for v in it.values()):
            fail(f"{what} (resource API): {it!r}")
    return len(items)


def cmd_write(argv):
    if len(argv) < 8:
        usage()
    table, mu, mn, mh, ou, on, oh = argv[:7]
    msgs = argv[7:]
    c = client()
    g = create_message_group(c, table, msgs[0], mu, mn, mh, ou, on, oh)
    out = [{'uuid': g['uuid'], 'created_at': g['created_at'], 'message': msgs[0]}]
    for m in msgs[1:]:
        r = create_message(c, table, g['message_group_uuid'], m, mu, mn, mh)
        out.append({'uuid': r['uuid'], 'created_at': r['created_at'], 'message': m})
    print(json.dumps({'message_group_uuid': g['message_group_uuid'], 'messages': out}))


def cmd_read(argv):
    if len(argv) != 3:
        usage()
    table, group, me = argv
    c = client()
    msgs = all_items(c, table, f"MSG#{group}")
    grps = all_items(c, table, f"GRP#{me}")
    check_shape(msgs, MESSAGE_ATTRS, f"MSG#{group}")
    check_shape(grps, GROUP_ATTRS, f"GRP#{me}")
    check_resource(table, f"MSG#{group}", MESSAGE_ATTRS, "messages")
    check_resource(table, f"GRP#{me}", GROUP_ATTRS, "message groups")
    # the original pages of 20: all of a conversation, page by page, must come back too
    print(json.dumps({
        'count_messages': len(msgs),
        'count_groups': len(grps),
        'messages': list_messages(c, table, group),
        'message_groups': list_message_groups(c, table, me),
    }))


def cmd_schema_check(argv):
    if len(argv) != 1:
        usage()
    import yaml
    src = argv[0]
    with open(os.path.join(src, "ddb-schema/cruddur-messages.json"), encoding="utf-8") as f:
        s = json.load(f)
    with open(os.path.join(src, "ddb-schema/cloudformation.yaml"), encoding="utf-8") as f:
        t = yaml.safe_load(f)
    p = t['Resources']['MessagesTable']['Properties']
    for k in ('AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'BillingMode'):
        if p.get(k) != s.get(k):
            fail(f"cloudformation.yaml {k} differs from cruddur-messages.json")
    if p['StreamSpecification']['StreamViewType'] != s['StreamSpecification']['StreamViewType']:
        fail("stream view types differ")
    if not p['PointInTimeRecoverySpecification']['PointInTimeRecoveryEnabled']:
        fail("point-in-time recovery is off")
    if not p['SSESpecification']['SSEEnabled'] or not p.get('DeletionProtectionEnabled'):
        fail("SSE or deletion protection is off")
    ep = t['Resources']['DynamoDBGatewayEndpoint']['Properties']
    if ep['VpcEndpointType'] != 'Gateway' or 'dynamodb' not in ep['ServiceName']['Fn::Sub']:
        fail("the VPC endpoint is not a DynamoDB gateway endpoint")
    print(json.dumps({'ok': True}))


def usage():
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) < 2:
        usage()
    cmds = {'write': cmd_write, 'read': cmd_read, 'schema-check': cmd_schema_check}
    if sys.argv[1] not in cmds:
        usage()
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == '__main__':
    main()
