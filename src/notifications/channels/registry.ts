import type { NotificationDestination } from '../../config/types.js';
import { httpChannel, type Channel } from '../types.js';
import { discordChannel } from './discord.js';
import { emailChannel } from './email.js';
import { giteaIssueChannel } from './gitea-issue.js';
import { githubIssueChannel } from './github-issue.js';
import { gitlabIssueChannel } from './gitlab-issue.js';
import { pagerdutyChannel } from './pagerduty.js';
import { slackChannel } from './slack.js';
import { teamsChannel } from './teams.js';
import { webhookChannel } from './webhook.js';

/** The channel that sends to a destination, from its (already checked) settings. */
export function channelFor(destination: NotificationDestination, options: { now: () => Date; timeoutMs: number }): Channel | undefined {
  const settings = destination.settings;
  switch (settings.type) {
    case 'slack':
      return httpChannel(slackChannel(settings));
    case 'discord':
      return httpChannel(discordChannel(settings));
    case 'teams':
      return httpChannel(teamsChannel(settings));
    case 'pagerduty':
      return httpChannel(pagerdutyChannel(settings));
    case 'webhook':
      return httpChannel(webhookChannel(settings, options.now));
    case 'email':
      return emailChannel(settings, options.timeoutMs);
    case 'github_issue':
      return githubIssueChannel(settings);
    case 'gitlab_issue':
      return gitlabIssueChannel(settings);
    case 'gitea_issue':
      return giteaIssueChannel(settings);
    case 'bitbucket_issue':
      return undefined;
  }
}
