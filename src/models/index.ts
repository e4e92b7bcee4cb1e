import { Model, type RelationMappings } from 'objection';

/**
 * objection models, one per table. Columns keep the seed's snake_case; the API layer maps them
 * to camelCase. NUMERIC columns arrive as numbers (see src/db).
 */

export class User extends Model {
  static override tableName = 'users';
  id!: string;
  email!: string;
  password_hash!: string | null;
  name!: string | null;
  avatar_url!: string | null;
  plan!: 'free' | 'pro' | 'team';
  quota_limit!: number;
  quota_used!: number;
  quota_reset_at!: Date | null;
  google_id!: string | null;
  github_id!: string | null;
  is_active!: boolean;
  is_verified!: boolean;
  created_at!: Date;
  updated_at!: Date;
  last_login_at!: Date | null;

  static override get relationMappings(): RelationMappings {
    return {
      audios: { relation: Model.HasManyRelation, modelClass: Audio, join: { from: 'users.id', to: 'audios.user_id' } },
      podcasts: { relation: Model.HasManyRelation, modelClass: Podcast, join: { from: 'users.id', to: 'podcasts.user_id' } },
      subscription: { relation: Model.HasOneRelation, modelClass: Subscription, join: { from: 'users.id', to: 'subscriptions.user_id' } },
      usageLogs: { relation: Model.HasManyRelation, modelClass: UsageLog, join: { from: 'users.id', to: 'usage_logs.user_id' } },
      apiKeys: { relation: Model.HasManyRelation, modelClass: ApiKey, join: { from: 'users.id', to: 'api_keys.user_id' } },
      sessions: { relation: Model.HasManyRelation, modelClass: Session, join: { from: 'users.id', to: 'sessions.user_id' } },
    };
  }
}

export class Voice extends Model {
  static override tableName = 'voices';
  id!: string;
  name!: string;
  name_zh!: string | null;
  provider!: string;
  gender!: string | null;
  language!: string | null;
  style!: string | null;
  description!: string | null;
  preview_url!: string | null;
  avatar_url!: string | null;
  is_premium!: boolean;
  is_active!: boolean;
  sort_order!: number;
  created_at!: Date;
}

export class Audio extends Model {
  static override tableName = 'audios';
  id!: string;
  user_id!: string;
  title!: string | null;
  text!: string;
  text_length!: number;
  voice_id!: string | null;
  audio_url!: string;
  audio_format!: string;
  duration!: number;
  file_size!: number | null;
  speed!: number;
  emotion!: string;
  type!: 'tts' | 'podcast';
  is_public!: boolean;
  is_deleted!: boolean;
  created_at!: Date;
  updated_at!: Date;

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'audios.user_id', to: 'users.id' } },
      voice: { relation: Model.BelongsToOneRelation, modelClass: Voice, join: { from: 'audios.voice_id', to: 'voices.id' } },
    };
  }
}

export interface ScriptLine {
  role: 'host' | 'guest';
  text: string;
  voice_id: string;
}

export class Podcast extends Model {
  static override tableName = 'podcasts';
  id!: string;
  user_id!: string;
  title!: string | null;
  source_type!: 'url' | 'text' | 'topic';
  source_content!: string;
  target_duration!: number;
  style!: string;
  script!: ScriptLine[] | null;
  host_voice_id!: string | null;
  guest_voice_id!: string | null;
  audio_url!: string | null;
  duration!: number | null;
  status!: string;
  created_at!: Date;
  updated_at!: Date;

  static override get jsonAttributes() {
    return ['script'];
  }

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'podcasts.user_id', to: 'users.id' } },
      jobs: { relation: Model.HasManyRelation, modelClass: PodcastJob, join: { from: 'podcasts.id', to: 'podcast_jobs.podcast_id' } },
      hostVoice: { relation: Model.BelongsToOneRelation, modelClass: Voice, join: { from: 'podcasts.host_voice_id', to: 'voices.id' } },
      guestVoice: { relation: Model.BelongsToOneRelation, modelClass: Voice, join: { from: 'podcasts.guest_voice_id', to: 'voices.id' } },
    };
  }
}

export class PodcastJob extends Model {
  static override tableName = 'podcast_jobs';
  id!: string;
  podcast_id!: string;
  status!: string;
  progress!: number;
  current_step!: string | null;
  error_code!: string | null;
  error_message!: string | null;
  started_at!: Date | null;
  completed_at!: Date | null;
  created_at!: Date;

  static override get relationMappings(): RelationMappings {
    return {
      podcast: { relation: Model.BelongsToOneRelation, modelClass: Podcast, join: { from: 'podcast_jobs.podcast_id', to: 'podcasts.id' } },
    };
  }
}

export class Subscription extends Model {
  static override tableName = 'subscriptions';
  id!: string;
  user_id!: string;
  plan!: 'pro' | 'team';
  status!: string;
  stripe_customer_id!: string | null;
  stripe_subscription_id!: string | null;
  stripe_price_id!: string | null;
  current_period_start!: Date | null;
  current_period_end!: Date | null;
  cancel_at!: Date | null;
  canceled_at!: Date | null;
  created_at!: Date;
  updated_at!: Date;

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'subscriptions.user_id', to: 'users.id' } },
    };
  }
}

export class UsageLog extends Model {
  static override tableName = 'usage_logs';
  id!: string;
  user_id!: string;
  type!: 'tts' | 'podcast';
  chars_used!: number;
  duration_used!: number;
  audio_id!: string | null;
  podcast_id!: string | null;
  provider!: string | null;
  api_cost!: number | null;
  created_at!: Date;

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'usage_logs.user_id', to: 'users.id' } },
      audio: { relation: Model.BelongsToOneRelation, modelClass: Audio, join: { from: 'usage_logs.audio_id', to: 'audios.id' } },
      podcast: { relation: Model.BelongsToOneRelation, modelClass: Podcast, join: { from: 'usage_logs.podcast_id', to: 'podcasts.id' } },
    };
  }
}

export class ApiKey extends Model {
  static override tableName = 'api_keys';
  id!: string;
  user_id!: string;
  name!: string | null;
  key_hash!: string;
  key_prefix!: string;
  scopes!: string[];
  rate_limit!: number;
  is_active!: boolean;
  last_used_at!: Date | null;
  expires_at!: Date | null;
  created_at!: Date;

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'api_keys.user_id', to: 'users.id' } },
    };
  }
}

export class Session extends Model {
  static override tableName = 'sessions';
  id!: string;
  user_id!: string;
  token_hash!: string;
  user_agent!: string | null;
  ip!: string | null;
  created_at!: Date;
  expires_at!: Date;

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'sessions.user_id', to: 'users.id' } },
    };
  }
}
