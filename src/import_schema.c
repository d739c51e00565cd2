/* import: the SQL of the caller's tables: the schema (one migration) and the statements of a
 * (re-)import.  Their use is described in include/ami/import.h ("storage"). */
#include "ami/import.h"

/* ---- SQL ---------------------------------------------------------------------------------- */

const char import_schema_sql[] =
    "CREATE TABLE imported_conversations (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL,\n"
    "  external_id TEXT NOT NULL,\n"
    "  title TEXT,\n"
    "  created_unix INTEGER,\n"
    "  updated_unix INTEGER,\n"
    "  first_message_unix INTEGER,\n"
    "  last_message_unix INTEGER,\n"
    "  user_messages INTEGER NOT NULL,\n"
    "  assistant_messages INTEGER NOT NULL,\n"
    "  other_messages INTEGER NOT NULL,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  cost_usd REAL,\n"
    "  imported_unix INTEGER NOT NULL,\n"
    "  UNIQUE (source, external_id)\n"
    ");\n"
    "CREATE TABLE imported_messages (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  conversation INTEGER NOT NULL REFERENCES imported_conversations (id) ON DELETE CASCADE,\n"
    "  source TEXT NOT NULL,\n"
    "  external_id TEXT NOT NULL,\n"
    "  role TEXT NOT NULL,\n"
    "  model TEXT,\n"
    "  at_unix INTEGER,\n"
    "  at_estimated INTEGER NOT NULL DEFAULT 0,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  cost_usd REAL,\n"
    "  UNIQUE (conversation, external_id)\n"
    ");\n"
    "CREATE INDEX imported_messages_at ON imported_messages (at_unix);\n"
    "CREATE TABLE imported_activity (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL,\n"
    "  day TEXT NOT NULL,\n"
    "  day_unix INTEGER NOT NULL,\n"
    "  model TEXT NOT NULL,\n"
    "  model_permaslug TEXT NOT NULL,\n"
    "  endpoint_id TEXT NOT NULL,\n"
    "  provider TEXT NOT NULL,\n"
    "  workspace_id TEXT NOT NULL DEFAULT '',\n"
    "  usd REAL,\n"
    "  byok_usd REAL,\n"
    "  requests INTEGER,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  reasoning_tokens INTEGER,\n"
    "  imported_unix INTEGER NOT NULL,\n"
    "  UNIQUE (source, day, endpoint_id, model_permaslug, provider, workspace_id)\n"
    ");\n";

const char import_sql_upsert_conversation[] =
    "INSERT INTO imported_conversations (source, external_id, title, created_unix, "
    "updated_unix, first_message_unix, last_message_unix, user_messages, assistant_messages, "
    "other_messages, prompt_tokens, completion_tokens, cost_usd, imported_unix) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
    "ON CONFLICT (source, external_id) DO UPDATE SET title = excluded.title, "
    "created_unix = excluded.created_unix, updated_unix = excluded.updated_unix, "
    "first_message_unix = excluded.first_message_unix, "
    "last_message_unix = excluded.last_message_unix, user_messages = excluded.user_messages, "
    "assistant_messages = excluded.assistant_messages, "
    "other_messages = excluded.other_messages, prompt_tokens = excluded.prompt_tokens, "
    "completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd, "
    "imported_unix = excluded.imported_unix "
    "WHERE excluded.updated_unix IS NULL OR imported_conversations.updated_unix IS NULL "
    "OR excluded.updated_unix >= imported_conversations.updated_unix "
    "RETURNING id";

const char import_sql_delete_messages[] = "DELETE FROM imported_messages WHERE conversation = ?1";

const char import_sql_insert_message[] =
    "INSERT INTO imported_messages (conversation, source, external_id, role, model, at_unix, "
    "at_estimated, prompt_tokens, completion_tokens, cost_usd) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const char import_sql_upsert_activity[] =
    "INSERT INTO imported_activity (source, day, day_unix, model, model_permaslug, endpoint_id, "
    "provider, workspace_id, usd, byok_usd, requests, prompt_tokens, completion_tokens, "
    "reasoning_tokens, imported_unix) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
    "ON CONFLICT (source, day, endpoint_id, model_permaslug, provider, workspace_id) "
    "DO UPDATE SET model = excluded.model, day_unix = excluded.day_unix, usd = excluded.usd, "
    "byok_usd = excluded.byok_usd, requests = excluded.requests, "
    "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
    "reasoning_tokens = excluded.reasoning_tokens, imported_unix = excluded.imported_unix";
