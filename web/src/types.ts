// Response shapes the studio reads (API.md). Requests are typed by the generated schema.
export type Plan = 'free' | 'pro' | 'team';
export interface User {
  id: string;
  email: string;
  name: string | null;
  avatarUrl: string | null;
  plan: Plan;
}
export interface Session {
  user: User;
  csrfToken: string;
}
export interface Quota {
  limit: number;
  used: number;
  remaining: number;
  reserved: number;
  resetAt: string | null;
}
export interface Me {
  user: User;
  quota: Quota;
}
export interface Usage {
  month: string;
  totals: { requests: number; duration: number; chars: number; cost: number };
}
export interface Voice {
  id: string;
  name: string;
  nameZh: string | null;
  provider: string;
  gender: string | null;
  language: string;
  style: string | null;
  description: string | null;
  previewUrl: string | null;
  avatarUrl: string | null;
  isPremium: boolean;
}
export type Role = 'host' | 'guest';
export interface ScriptLine {
  role: Role;
  text: string;
  voiceId?: string | null;
}
export type JobStatus = 'pending' | 'analyzing' | 'scripting' | 'synthesizing' | 'processing' | 'completed' | 'failed' | 'canceled';
export interface Job {
  id: string;
  status: JobStatus;
  progress: number;
  currentStep: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  etaSeconds: number | null;
  lengthNote: string | null;
  linesDone: number | null;
  linesTotal: number | null;
  awaitingApproval: boolean;
}
export type PodcastStatus = 'draft' | 'processing' | 'completed' | 'failed' | 'canceled';
export interface Podcast {
  id: string;
  title: string | null;
  sourceType: string;
  targetDuration: number;
  style: string;
  language: string;
  script: ScriptLine[] | null;
  hostVoiceId: string;
  guestVoiceId: string;
  audioUrl: string | null;
  duration: number | null;
  status: PodcastStatus;
  /** Its audio's visibility (false until it has one). */
  isPublic: boolean;
  createdAt: string;
  job: Job | null;
}
export interface Estimate {
  estimatedDuration: number;
  quotaCost: number;
  quotaRemaining: number;
  fits: boolean;
  etaSeconds: number | null;
}
export interface TranscriptLine {
  index: number;
  role: Role;
  speaker: string;
  text: string;
  start: number;
  end: number;
}
export interface Chapter {
  startTime: number;
  title: string;
}
export interface Audio {
  id: string;
  title: string | null;
  status?: string;
  voiceName: string | null;
  duration: number | null;
  isPublic: boolean;
  createdAt: string;
  audioUrl: string;
}
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  key?: string;
  scopes: string[];
  createdAt: string;
}
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  secret?: string;
  createdAt: string;
}
export interface List<T> {
  items: T[];
  total: number;
}
