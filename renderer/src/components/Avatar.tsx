import { colourIndex, initials } from '../lib/avatar';

interface Props {
  fullName: string;
  username: string;
  avatar?: string | undefined;
  size?: 'sm' | 'md' | 'lg';
}

/** Photo if the daemon supplied one (data: URL or shell URL), else initials on a colour derived from the username. */
export function Avatar({ fullName, username, avatar, size = 'md' }: Props) {
  if (avatar && /^(data:image\/(png|jpeg|webp|gif|svg\+xml)[;,]|https?:|\.?\/|redbear:|app:|file:)/.test(avatar)) {
    return <img className={`avatar avatar-${size}`} src={avatar} alt="" draggable={false} />;
  }
  return (
    <span className={`avatar avatar-${size} av-${colourIndex(username)}`} aria-hidden="true">
      {initials(fullName, username)}
    </span>
  );
}
